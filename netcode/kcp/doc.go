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
// Concurrency: every session of a socket belongs to that socket's event
// loop (endpoint): kcp-go's sans-IO KCP cores, driven by
// netcode/kcp/internal/loop, with no goroutine, lock or timer per
// session. A socket has two goroutines, a read loop (recvmmsg; it feeds
// each datagram to its session's core and never blocks on a session:
// inbound unreliable queues are bounded and drop oldest) and a timer
// loop (retransmissions, delayed ACKs, heartbeats, reports, idle
// timeouts), and one mutex for all of its sessions' transport state.
// Output is not written datagram by datagram: whoever produced it (the
// read loop after a batch, the timer loop, a writer through
// WriteMessage or Flush) writes every session's datagrams of that pass
// with one sendmmsg. A Conn is a netcode.Queuer: QueueMessages hands
// messages to the core without a system call, and one Flush sends what
// every session of the loop queued. A Conn is also a netcode.Pusher: after
// Push, the loop hands each message to a Receiver after the pass that read
// it (outside the loop's lock, one delivery at a time per loop) instead
// of waking a ReadMessage goroutine. A Conn allows one ReadMessage
// goroutine at a time; writes, Close, Stats and the address methods are
// safe from any goroutine. A dialed Conn's Close closes its socket and
// waits for its goroutines (a ClientSocket's Conns share one socket,
// which ClientSocket.Close closes); Listener.Close leaves accepted
// sessions open, Listener.Shutdown closes everything and waits.
package kcp
