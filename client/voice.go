package client

import (
	"context"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// VoiceType is the server's built-in voice room type (docs/VOICE.md).
const VoiceType = "voice"

// SendVoice sends one encoded audio frame — one raw Opus packet — to a
// voice room on the unreliable channel, numbered with the room's next
// voice sequence number (returned). ts is the media time of the frame's
// first sample in 48 kHz units (+960 per 20 ms frame), as RTP counts it.
// The server forwards the frame at once to the other members; a dropped
// frame is not reported (a refused one may come back as an Error).
func (r *Room) SendVoice(ts uint32, payload []byte) (uint32, error) {
	seq := r.voiceSeq.Add(1)
	return seq, r.SendVoiceFrame(seq, ts, payload)
}

// SendVoiceFrame sends a voice frame with a sequence number of the
// caller's (a bridge that numbers its own packets, a test). Mixing it
// with SendVoice on one room confuses the server's duplicate check.
func (r *Room) SendVoiceFrame(seq, ts uint32, payload []byte) error {
	if len(payload) > frame.MaxVoicePayload {
		return netcode.Errorf(netcode.CodeVoiceFrameTooLarge, "voice payload of %d bytes, protocol limit %d", len(payload), frame.MaxVoicePayload)
	}
	return r.c.Send(netcode.Unreliable, &frame.VoiceSend{RoomID: r.joined.RoomID, Seq: seq, Timestamp: ts, Payload: payload})
}

// SetVoice sets this member's mute (the server forwards none of its
// frames) and deafen (the server sends it none) state and waits for the
// server's acknowledgement. Every member, this one included, gets a
// VoiceEvent for each change.
func (r *Room) SetVoice(ctx context.Context, muted, deafened bool) error {
	_, err := r.c.Call(ctx, &frame.VoiceSet{RoomID: r.joined.RoomID, Muted: muted, Deafened: deafened})
	return err
}
