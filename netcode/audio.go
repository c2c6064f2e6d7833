package netcode

import (
	"context"
	"net"
)

// AudioMember is the room side of a bridged audio link: what a browser's
// RTP audio track feeds (docs/VOICE.md, "Browsers and the SFU"). The
// engine implements it; a transport calls it from its read loop.
type AudioMember interface {
	// Media hands one received audio packet: the RTP sequence number
	// extended to 32 bits, the RTP timestamp (48 kHz units for Opus) and
	// the payload (one Opus packet), valid only during the call. It never
	// blocks: a refusal is counted by the engine.
	Media(seq, timestamp uint32, payload []byte)
	// Closed tells the member that the link ended on its own (the peer
	// went away, ICE failed): the member detaches. Called at most once.
	Closed()
}

// AudioLink is the transport side of a bridged audio link: where the
// room's frames for one browser member go.
type AudioLink interface {
	// Forward queues one frame from member (a room member number) for
	// the browser. It never blocks; false means it was dropped (counted
	// by the transport).
	Forward(member, seq, timestamp uint32, payload []byte) bool
	// Close ends the link without waiting (its own goroutines tear it
	// down). Idempotent.
	Close() error
}

// AudioAnswerer is a listener that can answer an audio offer (the
// WebRTC transport): it creates the peer connection for one member,
// answers offer with its SDP, feeds what the browser sends to m and
// returns the link for what the room sends.
type AudioAnswerer interface {
	AnswerAudio(ctx context.Context, offer []byte, remote net.Addr, m AudioMember) (AudioLink, string, error)
}
