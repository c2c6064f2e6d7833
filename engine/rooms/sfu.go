package rooms

import (
	"sync/atomic"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Browser members of voice rooms (docs/VOICE.md, "Browsers and the
// SFU"). A session already in a voice room attaches an audio link (a
// WebRTC PeerConnection carrying Opus RTP, netcode.AudioLink): what the
// browser sends reaches the room as that member's voice frames, through
// the same inbox, window, caps, mute and speaking detector as a native
// member's; what the room forwards to the member goes to the link
// instead of the session. The hub knows no transport: the assembly wires
// the link (server, POST /v1/rtc/voice).

// ErrVoiceLinkLimit refuses an audio link past one per session or
// Config.MaxAudioLinks.
var ErrVoiceLinkLimit = &netcode.CodedError{Code: netcode.CodeVoiceLinkLimit, Msg: "audio link limit reached"}

// audioCounters count the audio links (Stats.Audio).
type audioCounters struct {
	links     atomic.Int64  // attached now
	attached  atomic.Uint64 // attached, ever
	notMember atomic.Uint64 // refused: no such session of this user in that room
	notVoice  atomic.Uint64 // refused: not a voice room
	limit     atomic.Uint64 // refused: one per session, or MaxAudioLinks
	frames    atomic.Uint64 // frames handed to links
	noLink    atomic.Uint64 // frames dropped: the link was not up yet or refused them
}

// AudioStats is a snapshot of the audio link counters, under "audio" in
// the rooms service's stats.
type AudioStats struct {
	Links    int64  `json:"links"`    // audio links attached now
	Attached uint64 `json:"attached"` // audio links attached since start
	Frames   uint64 `json:"frames"`   // voice frames handed to links (room → browser)
	Dropped  uint64 `json:"dropped"`  // voice frames for a browser member its link did not take
	// Refused counts refused attachments by reason: not_member (no such
	// session of the token's user in that room), not_voice_room, limit.
	Refused map[string]uint64 `json:"refused"`
}

func (c *audioCounters) snapshot() AudioStats {
	return AudioStats{Links: c.links.Load(), Attached: c.attached.Load(), Frames: c.frames.Load(),
		Dropped: c.noLink.Load(), Refused: map[string]uint64{
			"not_member": c.notMember.Load(), "not_voice_room": c.notVoice.Load(), "limit": c.limit.Load()}}
}

// AudioMember is a session's membership in one voice room as an audio
// link sees it: it implements netcode.AudioMember (frames from the
// browser) and holds the link the room's frames go to.
type AudioMember struct {
	h      *Hub
	s      *session
	roomID uint64
	link   atomic.Pointer[linkBox]
	done   atomic.Bool
}

type linkBox struct{ l netcode.AudioLink }

var _ netcode.AudioMember = (*AudioMember)(nil)

// AttachAudio makes session sessionID of user userID, a member of voice
// room roomID, a browser member: it reserves the session's one audio
// link, to be given with SetLink. A session that is not that user's, not
// in the room (joined or its join queued) or gone is refused with
// CodeNotInRoom, whichever it is (no oracle); a room of another type
// with CodeNotVoiceRoom; a second link for the session, or one past
// MaxAudioLinks, with CodeVoiceLinkLimit. Every refusal is counted.
func (h *Hub) AttachAudio(userID string, sessionID, roomID uint64) (*AudioMember, error) {
	v, ok := h.sessions.Load(sessionID)
	if !ok || v.(*session).peer.UserID() != userID || userID == "" {
		h.audio.notMember.Add(1)
		return nil, ErrNotInRoom
	}
	s := v.(*session)
	s.mu.Lock()
	e := s.rooms[roomID]
	s.mu.Unlock()
	switch {
	case e == nil:
		h.audio.notMember.Add(1)
		return nil, ErrNotInRoom
	case !e.run.media:
		h.audio.notVoice.Add(1)
		return nil, ErrNotVoiceRoom
	}
	if h.audio.links.Add(1) > int64(h.cfg.MaxAudioLinks) {
		h.audio.links.Add(-1)
		h.audio.limit.Add(1)
		return nil, ErrVoiceLinkLimit
	}
	m := &AudioMember{h: h, s: s, roomID: roomID}
	if !s.audio.CompareAndSwap(nil, m) {
		h.audio.links.Add(-1)
		h.audio.limit.Add(1)
		return nil, ErrVoiceLinkLimit
	}
	h.audio.attached.Add(1)
	return m, nil
}

// SetLink gives the member its link. If the member was detached
// meanwhile (it left the room), the link is closed at once.
func (m *AudioMember) SetLink(l netcode.AudioLink) {
	m.link.Store(&linkBox{l})
	if m.done.Load() {
		_ = l.Close()
	}
}

// Media implements netcode.AudioMember: one RTP packet from the browser
// becomes one of the member's voice frames (checked and counted as a
// native member's).
func (m *AudioMember) Media(seq, ts uint32, payload []byte) {
	if m.done.Load() {
		return
	}
	vs := frame.VoiceSend{RoomID: m.roomID, Seq: seq, Timestamp: ts, Payload: payload}
	_ = m.h.voiceSend(m.s, netcode.Unreliable, &vs) // refusals are counted there; RTP has no one to answer
}

// Closed implements netcode.AudioMember: the link ended on its own.
func (m *AudioMember) Closed() { m.Detach() }

// Detach ends the browser membership: the link is closed (the
// PeerConnection goes down on its own goroutines) and the session's
// slot freed. The session stays in the room. Idempotent, never blocks.
func (m *AudioMember) Detach() {
	if !m.done.CompareAndSwap(false, true) {
		return
	}
	m.s.audio.CompareAndSwap(m, nil)
	m.h.audio.links.Add(-1)
	if b := m.link.Load(); b != nil {
		_ = b.l.Close()
	}
}

// detachAudio detaches the session's audio link if it is for room id
// (any room when all).
func (s *session) detachAudio(id uint64, all bool) {
	if m := s.audio.Load(); m != nil && (all || m.roomID == id) {
		m.Detach()
	}
}

// sendMember queues a frame of room rr to one member: a voice frame for
// a browser member goes to its audio link, everything else to the
// session.
func (s *shard) sendMember(rr *roomRun, sess *session, ch netcode.Channel, b []byte) bool {
	if rr.media && ch == netcode.Unreliable {
		if m := sess.audio.Load(); m != nil && m.roomID == rr.e.id {
			if k, err := frame.Peek(b); err == nil && k == frame.KindVoiceFrame {
				return s.forwardAudio(m, b)
			}
		}
	}
	return s.send(sess, ch, b)
}

func (s *shard) forwardAudio(m *AudioMember, b []byte) bool {
	lb := m.link.Load()
	if lb == nil || m.done.Load() {
		s.h.audio.noLink.Add(1)
		return false
	}
	if s.vdec == nil {
		s.vdec = frame.NewDecoder()
	}
	if err := s.vdec.Decode(b, &s.vf); err != nil {
		s.h.audio.noLink.Add(1)
		return false
	}
	if !lb.l.Forward(s.vf.Member, s.vf.Seq, s.vf.Timestamp, s.vf.Payload) {
		s.h.audio.noLink.Add(1)
		return false
	}
	s.h.audio.frames.Add(1)
	return true
}
