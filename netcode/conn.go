package netcode

import (
	"net"
	"sync/atomic"
	"time"
)

// Channel selects the delivery guarantees of a message.
type Channel uint8

const (
	// Reliable messages arrive exactly once, in the order they were sent.
	Reliable Channel = 0
	// Unreliable messages may be lost, duplicated away or reordered; a
	// receiver drops stale ones (newest wins). On stream transports (TCP,
	// WebSocket, long-polling) they are carried reliably but are the first
	// to be dropped when a writer queue backs up.
	Unreliable Channel = 1
)

// String names the channel.
func (c Channel) String() string {
	switch c {
	case Reliable:
		return "reliable"
	case Unreliable:
		return "unreliable"
	}
	return "invalid"
}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c <= Unreliable }

// DefaultMaxMessageSize is the largest message a transport accepts unless
// configured otherwise. Game frames are far smaller; the cap exists so that
// a hostile length prefix can never make a reader allocate more.
const DefaultMaxMessageSize = 64 << 10

// Conn is one established, message-oriented connection.
//
// ReadMessage and WriteMessage may run concurrently with each other (one
// goroutine each); Close, Stats and the address methods are safe from any
// goroutine.
type Conn interface {
	// ReadMessage blocks until the next message arrives on either channel.
	// The returned bytes belong to the Conn and stay valid only until the
	// next ReadMessage call. After the peer closes, it returns a
	// *CloseError carrying the peer's code and reason; after a local
	// Close, ErrClosed; after an idle timeout, an error matching
	// ErrIdleTimeout.
	ReadMessage() (Channel, []byte, error)

	// WriteMessage sends one message. It does not retain p. It may block
	// until the transport accepts the bytes, but never longer than the
	// transport's write timeout (then it returns an error matching
	// ErrWriteTimeout and the Conn should be closed). Messages larger
	// than the transport's maximum return ErrMessageTooLarge.
	WriteMessage(ch Channel, p []byte) error

	// Close tells the peer, best effort, why the connection ends and
	// releases every resource. It is idempotent; later calls return nil.
	Close(code Code, reason string) error

	// Stats returns a snapshot of the connection's counters.
	Stats() Stats

	// Transport names the transport ("kcp", "tcp", ...).
	Transport() string

	LocalAddr() net.Addr
	RemoteAddr() net.Addr
}

// Queuer is an optional interface of a Conn whose transport runs an event
// loop (KCP): messages are handed to the loop without blocking and
// without a system call, and every session's queued datagrams leave
// together, in one batched system call, when someone flushes.
//
// QueueMessages queues msgs on ch in order. It never blocks and does not
// retain the slices. Sizes are checked first: a message above the limit
// fails the call with ErrMessageTooLarge before anything is queued (an
// unreliable message must fit one datagram). A reliable message that the
// session cannot take because its send window and queue are full fails
// with an error matching ErrQueueFull: the peer is not keeping up, and
// the caller should close the Conn (slow consumer). After the Conn ended
// it returns the reason, as WriteMessage does.
//
// Flush sends what every session of the same loop has queued, in the
// calling goroutine; a caller that queued for many Conns of one loop
// flushes once. Messages queued and not flushed still leave within the
// transport's flush delay (its KCP interval), so a forgotten Flush costs
// latency, never data.
//
// WriteMessage on such a Conn queues and flushes. A Conn may be used both
// ways from different goroutines; the order of messages on a channel is
// the order in which the calls returned.
type Queuer interface {
	QueueMessages(ch Channel, msgs [][]byte) error
	Flush()
}

// Pusher is an optional interface of a Conn whose transport runs an event
// loop (KCP): instead of a goroutine blocked in ReadMessage per
// connection, the transport hands each message to a Receiver on its own
// goroutine, in the pass that read it.
//
// Push hands delivery to r: the messages not yet read, in order, then
// every later one go to r.Receive, and the end goes to r.Ended with the
// error ReadMessage would have returned, exactly once. Calls for one
// Conn never overlap. r runs on the transport's goroutines and must not
// block; it may write to the Conn (QueueMessages, Flush, WriteMessage)
// and Close it; what it queues leaves with the transport's flush at the
// end of the delivery pass. The bytes are valid only during the call.
// After Push, ReadMessage fails.
type Pusher interface {
	Push(r Receiver)
}

// Receiver takes a Pusher's messages.
type Receiver interface {
	Receive(ch Channel, msg []byte)
	Ended(err error)
}

// Listener accepts Conns. It behaves like net.Listener.
type Listener interface {
	// Accept blocks until a new, fully handshaken Conn arrives. After
	// Close it returns ErrClosed.
	Accept() (Conn, error)
	// Close stops accepting; established Conns stay open. Idempotent.
	Close() error
	Addr() net.Addr
}

// DropReason says why a message was dropped.
type DropReason uint8

// Reasons a message can be dropped; each has its own counter in Stats.
const (
	DropStale           DropReason = iota // unreliable message older than one already delivered
	DropQueueFull                         // a bounded queue was full
	DropTooLarge                          // above the size limit
	DropMalformed                         // could not be parsed at the transport layer
	DropClosed                            // arrived or was sent after close
	DropUnauthenticated                   // datagram from an unknown or unvalidated peer, or that failed authentication
	DropReplayed                          // authenticated datagram already received, or older than the replay window
	NumDropReasons
)

var dropNames = [NumDropReasons]string{"stale", "queue_full", "too_large", "malformed", "closed", "unauthenticated", "replayed"}

// String names the reason as it appears in metrics.
func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// Stats is a snapshot of one connection's counters. Byte counts are wire
// bytes where the transport knows them (headers, retransmissions and
// redundant copies included), else message bytes.
type Stats struct {
	Transport string
	// RTT is the transport's smoothed round-trip estimate where reading
	// it is a field read (KCP, WebRTC); zero when the transport has none
	// yet, and always zero for the transports whose estimate costs a
	// system call (TCP, WebSocket, long-poll: the kernel's TCP_INFO),
	// so that a metrics scrape snapshotting every session pays none.
	// Read RTT with RTTOf, which works for every transport.
	RTT time.Duration

	BytesSent, BytesRecv       uint64
	MessagesSent, MessagesRecv uint64
	Drops                      [NumDropReasons]uint64

	// Retransmits counts reliable segments sent again (KCP only).
	Retransmits uint64
	// LossRate is the measured fraction of datagrams lost, 0..1 (KCP only).
	LossRate float64
	// Redundancy is the current number of extra copies of each datagram
	// sent by loss-adaptive redundancy (KCP only); RedundantBytes the
	// bytes those copies cost so far.
	Redundancy     int
	RedundantBytes uint64
}

// RTTer is an optional interface of a Conn whose round-trip estimate is
// too dear for Stats (one system call: TCP, WebSocket, long-poll read
// the kernel's TCP_INFO). RTT returns the transport's smoothed estimate,
// or 0 when it has none; it is safe from any goroutine. Call it when an
// RTT is wanted (a periodic sample, an admin listing), never per message.
type RTTer interface {
	RTT() time.Duration
}

// RTTOf is c's transport round-trip estimate, 0 when there is none yet:
// c.RTT() when c implements RTTer, else c.Stats().RTT. It is the one way
// to read a Conn's RTT; a type that wraps a Conn and forwards Stats must
// forward RTT too (by implementing RTTer with RTTOf of the inner Conn),
// or RTTOf would read 0 for a stream transport.
func RTTOf(c Conn) time.Duration {
	if r, ok := c.(RTTer); ok {
		return r.RTT()
	}
	return c.Stats().RTT
}

// Counters are what a Conn counts for Stats, safe for concurrent use: the
// reader and the writer bump them, Stats snapshots them. A Conn keeps one
// (a named field, not embedded: the counters are not its API) and adds
// what else it knows cheaply (RTT, retransmissions) to Snapshot's result.
type Counters struct {
	BytesSent, BytesRecv atomic.Uint64
	MsgsSent, MsgsRecv   atomic.Uint64
	Drops                [NumDropReasons]atomic.Uint64
}

// Snapshot is the counters as the Stats of the named transport.
func (c *Counters) Snapshot(transport string) Stats {
	s := Stats{
		Transport:    transport,
		BytesSent:    c.BytesSent.Load(),
		BytesRecv:    c.BytesRecv.Load(),
		MessagesSent: c.MsgsSent.Load(),
		MessagesRecv: c.MsgsRecv.Load(),
	}
	for i := range c.Drops {
		s.Drops[i] = c.Drops[i].Load()
	}
	return s
}

// TotalDrops sums the drop counters.
func (s Stats) TotalDrops() uint64 {
	var n uint64
	for _, d := range s.Drops {
		n += d
	}
	return n
}

// ListenerStats is a snapshot of what a Listener counted before any Conn
// reached its owner: handshakes, refusals and datagrams or connections
// dropped at the door. Fields a transport has no use for stay zero.
type ListenerStats struct {
	// Transport names the transport ("kcp", "tcp", ...); Addr is the
	// listening address.
	Transport string `json:"transport"`
	Addr      string `json:"addr"`
	// Sessions is the number of connections open now (accepted or
	// waiting for Accept).
	Sessions int `json:"sessions"`
	// HandshakesStarted counts handshakes begun (KCP: Hellos answered
	// with a cookie); Accepted counts connections handed to Accept.
	HandshakesStarted uint64 `json:"handshakes_started"`
	Accepted          uint64 `json:"accepted"`
	// Refused counts handshakes the listener refused, by reason
	// ("max_sessions", "per_ip", "backlog", "closed"...).
	Refused map[string]uint64 `json:"refused,omitempty"`
	// Drops counts datagrams or connections dropped before they reached a
	// Conn, by DropReason name (KCP: "unauthenticated" for a spoofed
	// source, a bad cookie, an unknown token or a datagram that fails
	// authentication; "replayed"; "malformed").
	Drops map[string]uint64 `json:"drops,omitempty"`
	// AcceptErrors counts failed accepts of the underlying socket.
	AcceptErrors uint64 `json:"accept_errors,omitempty"`
	// IO counts the transport's own traffic, by name (KCP:
	// "datagrams_in", "datagrams_out", "read_calls", "write_calls" —
	// system calls, each carrying a batch — and "acks_held",
	// "acks_merged").
	IO map[string]uint64 `json:"io,omitempty"`
}

// ListenerStatsReporter is implemented by Listeners that count what
// happens before Accept. The engine includes every such snapshot in its
// stats.
type ListenerStatsReporter interface {
	ListenerStats() ListenerStats
}
