// Package engine runs tickwire's realtime sessions: it accepts
// netcode.Conns from any transport, authenticates each with a Hello
// carrying a signed token, answers the session-layer frames itself (Ping,
// Echo, Close) and routes every other kind to the feature service that owns
// it (rooms, social; see engine/service). It also serves the HTTP JSON API
// (/healthz, guest tokens, stats, and every service's routes).
//
// The engine imports no concrete transport: cmd/tickwire (through
// server) opens the transports it is given and hands their listeners to Serve.
//
// Limits at the door: a connection above Config.MaxSessionsPerIP (keyed
// by the client's IPv4 address or IPv6 /64, over every listener together)
// or Config.MaxSessions is closed at accept with CodeTooManySessions
// before any service sees it. Frames above MaxFramesPerSecond are
// dropped, answered at a bounded rate and never count as bad frames;
// sustained excess closes with CodeRateLimited. Every refusal is counted
// in Stats, beside each listener's own counters
// (netcode.ListenerStatsReporter) in ServiceStats.
//
// Concurrency contract: an Engine is safe for concurrent use. Every
// session has a reader goroutine, owned by the engine, that decodes
// input, enforces limits and calls the services; a session on a Conn that
// is not a netcode.Queuer also has one writer that drains its two bounded
// queues (arrays grown on demand up to their capacity) into the Conn. Peer
// methods (Send, Close, ...) are safe from any goroutine and never block.
// Service.HandleFrame is called only from the session's reader, and
// PeerClosed exactly once, after the last HandleFrame. Shutdown closes
// every session with CodeServerShutdown and waits for all goroutines.
//
// Direct mode: a session on a Conn that is a netcode.Queuer (KCP, whose
// sessions share event loops) has no writer goroutine. Peer.Send hands
// the frame to the transport's bounded queue in the caller's goroutine
// and flushes the loop there (one batched write, no goroutine hand-off);
// the reader flushes its replies (Pong, Echo, Error) once after each
// message it read. Only Hello queues, from the Welcome until the services
// saw PeerOpened; then the reader hands the Welcome and what they sent
// meanwhile to the transport first, in order. Closing starts one
// engine-owned goroutine for the close sequence (the final Close frame of
// a graceful close, the linger, Conn.Close). service.BatchPeer lets a producer queue to
// many sessions and flush once (the room hub does per worker step). The
// policies are unchanged: an unreliable frame too large for a datagram
// goes reliably, a full transport queue closes the slow consumer, and
// every refusal is counted under the same reasons. Hand-offs run under
// the session's queue lock, which is taken before the transport's locks
// (a transport never calls the engine while holding them). Other Conns
// (TCP, WebSocket, long-polling, WebRTC) keep the writer throughout.
package engine
