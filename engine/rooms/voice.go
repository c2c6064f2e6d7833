package rooms

import (
	"errors"
	"fmt"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// Voice refusals (docs/VOICE.md).
var (
	ErrNotVoiceRoom       = &netcode.CodedError{Code: netcode.CodeNotVoiceRoom, Msg: "not a voice room"}
	ErrVoiceFrameTooLarge = &netcode.CodedError{Code: netcode.CodeVoiceFrameTooLarge, Msg: "voice frame too large"}
)

// voiceFrame handles VoiceSend and VoiceSet from a session's reader. A
// voice frame is checked (size, membership, room type) and queued to the
// room like an input, but it wakes the room's worker, which hands it to
// the room at once and flushes what the room forwards in the same pass:
// voice does not wait for the tick.
func (h *Hub) voiceFrame(now time.Time, s *session, ch netcode.Channel, k frame.Kind, data []byte) (uint32, error) {
	if k == frame.KindVoiceSend {
		if err := s.dec.Decode(data, &s.vs); err != nil {
			return refOf(data), err
		}
		err := h.voiceSend(s, ch, &s.vs)
		if err != nil && !s.mayRefuse(now) {
			h.drops.unanswered.Add(1) // as for inputs: no flood of Errors back
			err = nil
		}
		return s.vs.Ref, err
	}
	var m frame.VoiceSet
	if err := s.dec.Decode(data, &m); err != nil {
		return refOf(data), err
	}
	e, err := h.voiceRoom(s, m.RoomID)
	if err != nil {
		return m.Ref, err
	}
	return m.Ref, e.run.enqueue(op{kind: opMediaState, sess: s, ref: m.Ref,
		st: room.MediaState{Muted: m.Muted, Deafened: m.Deafened}}, nil)
}

func (h *Hub) voiceSend(s *session, ch netcode.Channel, m *frame.VoiceSend) error {
	if len(m.Payload) > h.cfg.Voice.MaxFrameBytes {
		h.voice.TooLarge.Add(1)
		return &netcode.CodedError{Code: netcode.CodeVoiceFrameTooLarge, Err: ErrVoiceFrameTooLarge,
			Msg: fmt.Sprintf("voice frame of %d bytes, limit %d", len(m.Payload), h.cfg.Voice.MaxFrameBytes)}
	}
	e, err := h.voiceRoom(s, m.RoomID)
	if err != nil {
		return err
	}
	err = e.run.enqueue(op{kind: opMedia, sess: s, ref: m.Ref, ch: ch, seq: m.Seq, ts: m.Timestamp}, m.Payload)
	if errors.Is(err, ErrInboxFull) {
		h.voice.InboxFull.Add(1)
	}
	return err
}

// voiceRoom is the voice room id the session is in, or the refusal.
func (h *Hub) voiceRoom(s *session, id uint64) (*entry, error) {
	s.mu.Lock()
	e := s.rooms[id]
	s.mu.Unlock()
	switch {
	case e == nil:
		h.voice.NotMember.Add(1)
		return nil, ErrNotInRoom
	case !e.run.media:
		h.voice.NotVoiceRoom.Add(1)
		return nil, ErrNotVoiceRoom
	}
	return e, nil
}

// applyMediaState runs a VoiceSet in the room's worker: the room's
// events go out first, then the OK, in the same batch.
func (s *shard) applyMediaState(rr *roomRun, o *op, now time.Time) error {
	id, ok := rr.bySess[o.sess]
	if !ok {
		s.sendError(o.sess, ErrNotInRoom, o.ref)
		return nil
	}
	err := rr.r.SetMediaState(now, id, o.st)
	s.deliver(rr)
	switch {
	case err == nil:
		if o.ref != 0 {
			if b, merr := frame.Marshal(&frame.OK{Ref: o.ref}); merr == nil {
				s.send(o.sess, netcode.Reliable, b)
			}
		}
	case rr.r.Crash() == nil:
		s.sendError(o.sess, err, o.ref)
	}
	return err
}
