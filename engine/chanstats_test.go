package engine

// framesOut is the frames s wrote, both channels.
func (s *session) framesOut() uint64 {
	t := s.chc.snapshot()
	return t[0].FramesOut + t[1].FramesOut
}
