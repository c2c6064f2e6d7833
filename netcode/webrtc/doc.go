// Package webrtc is tickwire's browser transport: WebRTC data channels
// (pion/webrtc v4) with every session on one UDP port, signaled by one
// authenticated HTTP round trip.
//
// Signaling: POST /v1/rtc/offer with "Authorization: Bearer <token>" and
// the SDP offer (Content-Type application/sdp, ICE candidates gathered:
// no trickle) is answered 201 Created with the SDP answer. The token
// (netcode.Env.VerifyToken), the engine's session caps (Env.Admit) and
// the listener's own caps on offers in flight (global and per IP) are
// checked, and the body is read (bounded) and parsed, before any
// PeerConnection exists; every refusal has a code, a JSON body and a
// counter (ListenerStats.Refused).
//
// All PeerConnections share one UDP socket through pion's ICE UDP mux;
// Config.PublicIPs rewrites the advertised host candidate for 1:1 NAT.
// Each session has two negotiated data channels (no DCEP round trip):
// id 0 "reliable" (ordered, reliable) carries netcode.Reliable as binary
// messages and close messages as text; id 1 "unreliable" (unordered,
// maxRetransmits 0) carries netcode.Unreliable behind a 4-byte sequence
// number so that the receiver drops stale messages (newest wins). See
// wire.go, docs/WEBRTC.md and docs/PROTOCOL.md.
//
// Concurrency: every Conn has one lifecycle goroutine that owns its
// teardown (pion's callbacks only record a cause and wake it) and, once
// open, one reader goroutine per data channel, each reading into a
// buffer of its own: the reliable reader hands its buffer to ReadMessage
// and waits until the next ReadMessage call releases it; the unreliable
// reader copies into a bounded newest-wins queue. A Conn allows one
// ReadMessage and one WriteMessage goroutine at a time; Close, Stats and
// the address methods are safe from any goroutine. Close sends a close
// message, closes the PeerConnection and waits for every goroutine of
// the session (pion's included). Listener.Close refuses new offers and
// closes sessions not yet accepted; Listener.Shutdown closes every
// session and the UDP mux and waits for them.
//
// Audio links (audio.go, the SFU of voice rooms; docs/VOICE.md): the
// listener also answers audio offers (Listener.AnswerAudio, a
// netcode.AudioAnswerer the assembly mounts at POST /v1/rtc/voice) with an
// Opus-only PeerConnection on the same UDP mux. Each link has a lifecycle
// goroutine (connect timeout, then teardown: it closes the PeerConnection,
// waits for pion's track reader and tells the member), a writer goroutine
// that owns the slot table (slotTable, sans-IO) and drains a bounded queue
// that Forward fills without blocking, and pion's OnTrack goroutine reading
// the browser's RTP. Close only signals; Listener.Shutdown closes every
// link and waits for their goroutines.
package webrtc
