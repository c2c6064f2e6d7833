// Package kcp is tickwire's UDP transport: a reliable-ordered channel
// driven by kcp-go (v5.7.5) and an unreliable, sequenced channel, both on
// one UDP port, behind a stateless-cookie handshake.
//
// Every datagram starts with a type byte (handshake, KCP, unreliable,
// control); docs/KCP.md documents every byte. The package adds what
// kcp-go lacks for a game server: a handshake that creates no state for
// spoofed sources and never answers with more bytes than it received;
// per-session tokens instead of address identity; heartbeats, idle
// timeouts and write deadlines; a close message with a netcode.Code; and
// loss-adaptive redundancy (each end measures the loss of its own
// datagrams from the peer's receive reports and sends every KCP datagram
// up to MaxLevel extra times, within a byte budget).
//
// Concurrency: a Listener or a dialed Conn owns one socket with two
// goroutines, a read loop (demultiplexing, KCP input, never blocking on a
// session: inbound unreliable queues are bounded and drop oldest) and a
// tick loop (heartbeats, reports, idle timeouts). kcp-go's shared
// scheduler drives retransmissions. A Conn allows one ReadMessage and one
// WriteMessage goroutine at a time; Close, Stats and the address methods
// are safe from any goroutine. A dialed Conn's Close closes its socket
// and waits for its goroutines; Listener.Close leaves accepted sessions
// open, Listener.Shutdown closes everything and waits.
package kcp
