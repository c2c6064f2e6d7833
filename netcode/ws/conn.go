package ws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tickwire/tickwire/internal/tcprtt"
	"github.com/tickwire/tickwire/netcode"
)

// transportName is what Transport and Stats report.
const transportName = "ws"

var (
	_ netcode.Conn  = (*Conn)(nil)
	_ netcode.RTTer = (*Conn)(nil)
)

// Conn is one WebSocket connection carrying tickwire messages. See the
// package doc for the concurrency contract.
type Conn struct {
	ws     *websocket.Conn
	nc     net.Conn // the socket under ws: deadlines bound writes and Close
	cfg    Config
	log    *slog.Logger
	epoch  time.Time // monotonic base for the timestamps below
	remote net.Addr

	// buf is owned by the goroutine calling ReadMessage.
	buf []byte

	wmu  sync.Mutex // guards wbuf and every message written through ws
	wbuf []byte     // the message being written; reused
	// broken is the first write failure: the stream may hold a partial
	// frame, so nothing more is written. Set under wmu, read anywhere.
	broken atomic.Pointer[error]

	lastWrite atomic.Int64 // nanoseconds since epoch of the last completed write
	// readBy is, while ReadMessage waits, the time (since epoch) at which
	// it gives up (IdleTimeout after it started or after the last ping or
	// pong); 0 when nobody reads. Written by the reading goroutine (the
	// ping and pong callbacks run on it), read by run.
	readBy atomic.Int64
	// handshakeBy (server) is the time since epoch by which the first
	// message must arrive; 0 on a client. Fixed at creation.
	handshakeBy int64
	first       atomic.Bool // a reliable or unreliable message arrived

	closed atomic.Bool // set once, under mu, by terminate
	mu     sync.Mutex  // guards cause
	cause  error       // what ReadMessage reports once closed

	done     chan struct{} // closed by terminate: stops run
	finished chan struct{} // closed by run when the Conn has released everything

	ctr netcode.Counters // what Stats reports

	lc          *listenerCounters // nil on a client
	pendingDone atomic.Bool       // the Listener's pending count was given back
}

// newConn builds a Conn around a socket before the WebSocket exists, so
// that the ping and pong callbacks can refer to it; start completes it.
func newConn(nc net.Conn, remote net.Addr, cfg Config, lc *listenerCounters) *Conn {
	c := &Conn{
		nc:       nc,
		cfg:      cfg,
		log:      cfg.Logger,
		epoch:    time.Now(),
		remote:   remote,
		done:     make(chan struct{}),
		finished: make(chan struct{}),
		lc:       lc,
	}
	if remote == nil {
		c.remote = nc.RemoteAddr()
	}
	if lc != nil {
		c.handshakeBy = int64(cfg.HandshakeTimeout)
	}
	return c
}

// start takes the upgraded WebSocket and starts the Conn's goroutine.
func (c *Conn) start(w *websocket.Conn) {
	c.ws = w
	c.ws.SetReadLimit(-1) // readMessage enforces the limit, with our close code
	go c.run()
}

// onControl refreshes the idle timer when a ping or pong arrives while
// ReadMessage waits (the callbacks run on the reading goroutine).
func (c *Conn) onControl() {
	if c.readBy.Load() != 0 {
		c.readBy.Store(c.since() + int64(c.cfg.IdleTimeout))
	}
}

func (c *Conn) since() int64 { return int64(time.Since(c.epoch)) }

// ReadMessage returns the next message. The bytes are valid until the
// next call. Heartbeats are consumed silently. Errors: *netcode.CloseError
// after the peer's close; netcode.ErrClosed after a local Close; an error
// matching netcode.ErrIdleTimeout (and netcode.CodeIdleTimeout) when
// nothing arrived within IdleTimeout; a *netcode.CodedError for a
// protocol violation (the peer is sent a close with that code). Any error
// closes the Conn and repeats on later calls.
func (c *Conn) ReadMessage() (netcode.Channel, []byte, error) {
	for {
		if c.closed.Load() {
			return 0, nil, c.readCause()
		}
		c.readBy.Store(c.since() + int64(c.cfg.IdleTimeout))
		typ, r, err := c.ws.Reader(context.Background())
		if err != nil {
			c.readBy.Store(0)
			return 0, nil, c.readFailed(err)
		}
		if typ != websocket.MessageBinary {
			c.readBy.Store(0)
			return 0, nil, c.protocolError(netcode.Errorf(netcode.CodeBadFrame, "ws: text message (binary only)"))
		}
		msg, err := readMessage(r, &c.buf, MarkSize+c.cfg.MaxMessageSize)
		c.readBy.Store(0)
		if err != nil {
			var ce *netcode.CodedError
			if errors.As(err, &ce) {
				return 0, nil, c.protocolError(ce)
			}
			return 0, nil, c.readFailed(err)
		}
		c.ctr.BytesRecv.Add(uint64(len(msg)))
		mark, body, err := splitMark(msg)
		if err != nil {
			return 0, nil, c.protocolError(err)
		}
		if mark == markHeartbeat {
			continue
		}
		if !c.first.Load() {
			c.first.Store(true)
			c.releasePending()
		}
		c.ctr.MsgsRecv.Add(1)
		return netcode.Channel(mark), body, nil
	}
}

// protocolError counts a violation by the peer and closes with its code.
func (c *Conn) protocolError(err error) error {
	code := netcode.CodeOf(err)
	reason := netcode.DropMalformed
	if code == netcode.CodeFrameTooLarge {
		reason = netcode.DropTooLarge
	}
	c.drop(reason)
	c.log.Debug("ws: protocol error from peer", "remote", c.remote, "err", err)
	var ce *netcode.CodedError
	msg := code.String()
	if errors.As(err, &ce) && ce.Msg != "" {
		msg = ce.Msg
	}
	c.terminate(err, code, msg, sendCloseFrame)
	return c.readCause()
}

// readFailed turns a read error of the WebSocket into the Conn's
// terminal error and closes.
func (c *Conn) readFailed(err error) error {
	if c.closed.Load() {
		return c.readCause()
	}
	var wce websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &wce):
		c.terminate(&netcode.CloseError{Code: closeCode(wce.Code), Reason: wce.Reason}, 0, "", skipCloseFrame)
	case c.broken.Load() != nil:
		c.terminate(*c.broken.Load(), 0, "", skipCloseFrame)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		c.terminate(fmt.Errorf("%w: peer ended the connection without a close: %w", netcode.ErrClosed, err), 0, "", skipCloseFrame)
	default:
		// What the WebSocket library refused: bytes after the upgrade
		// that are no WebSocket frame, an unmasked client frame, a bad
		// opcode or close payload.
		c.drop(netcode.DropMalformed)
		c.log.Debug("ws: websocket protocol error from peer", "remote", c.remote, "err", err)
		c.terminate(&netcode.CodedError{Code: netcode.CodeBadFrame, Msg: "ws: websocket protocol error", Err: err},
			netcode.CodeBadFrame, "websocket protocol error", sendCloseFrame)
	}
	return c.readCause()
}

func (c *Conn) readCause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

func (c *Conn) drop(r netcode.DropReason) {
	c.ctr.Drops[r].Add(1)
	if c.lc != nil {
		c.lc.drops[r].Add(1)
	}
}

// WriteMessage sends one message as one WebSocket binary message. It
// does not retain p.
func (c *Conn) WriteMessage(ch netcode.Channel, p []byte) error {
	if !ch.Valid() {
		return netcode.ErrBadChannel
	}
	if len(p) > c.cfg.MaxMessageSize {
		c.ctr.Drops[netcode.DropTooLarge].Add(1)
		return fmt.Errorf("%w: %d bytes, limit %d", netcode.ErrMessageTooLarge, len(p), c.cfg.MaxMessageSize)
	}
	c.wmu.Lock()
	c.wbuf = appendMessage(c.wbuf[:0], byte(ch), p)
	err := c.writeLocked()
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	c.ctr.MsgsSent.Add(1)
	return nil
}

// writeLocked writes c.wbuf as one message bounded by WriteTimeout. The
// caller holds wmu.
func (c *Conn) writeLocked() error {
	if c.closed.Load() {
		c.ctr.Drops[netcode.DropClosed].Add(1)
		return netcode.ErrClosed
	}
	if p := c.broken.Load(); p != nil {
		return *p
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return c.writeFailed(err)
	}
	// terminate may have started after the check above and shortened the
	// deadline; ours may have undone that, so look again.
	if c.closed.Load() {
		c.ctr.Drops[netcode.DropClosed].Add(1)
		return netcode.ErrClosed
	}
	if err := c.ws.Write(context.Background(), websocket.MessageBinary, c.wbuf); err != nil {
		return c.writeFailed(err)
	}
	// No deadline between writes: the library's own control replies
	// (pong, close) are bounded by its contexts, and a stale deadline
	// would cut them.
	if err := c.nc.SetWriteDeadline(time.Time{}); err != nil {
		return c.writeFailed(err)
	}
	c.ctr.BytesSent.Add(uint64(len(c.wbuf)))
	c.lastWrite.Store(c.since())
	return nil
}

// writeFailed records the first write failure and closes the socket, so
// that the reader unblocks; the stream may now hold a partial frame, so
// nothing more is written. The caller holds wmu.
func (c *Conn) writeFailed(err error) error {
	if c.closed.Load() {
		return netcode.ErrClosed
	}
	err = netcode.WriteFailure(transportName, c.cfg.WriteTimeout, err)
	c.broken.Store(&err)
	if cerr := c.nc.Close(); cerr != nil {
		c.log.Debug("ws: close after write failure", "err", cerr)
	}
	return err
}

// run is the Conn's one goroutine: it sends a heartbeat whenever nothing
// was written for HeartbeatInterval, closes the Conn when ReadMessage has
// waited IdleTimeout or (server) the first message is late, and, once the
// Conn is closed, gives its place in the Listener back and closes
// finished. terminate stops it.
func (c *Conn) run() {
	defer func() {
		<-c.done // terminate has finished: the socket is closed
		c.releasePending()
		if c.lc != nil {
			c.lc.open.Add(-1)
		}
		close(c.finished)
	}()
	interval := int64(c.cfg.HeartbeatInterval)
	t := time.NewTimer(c.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		now := c.since()
		if c.handshakeBy > 0 && !c.first.Load() && now >= c.handshakeBy {
			err := &netcode.CodedError{Code: netcode.CodeHandshakeTimeout,
				Msg: fmt.Sprintf("ws: no first message within %v", c.cfg.HandshakeTimeout), Err: netcode.ErrHandshake}
			c.terminate(err, netcode.CodeHandshakeTimeout, "handshake timeout", sendCloseFrame)
			return
		}
		by := c.readBy.Load()
		if by > 0 && now >= by {
			err := &netcode.CodedError{Code: netcode.CodeIdleTimeout,
				Msg: fmt.Sprintf("ws: nothing received for %v", c.cfg.IdleTimeout), Err: netcode.ErrIdleTimeout}
			c.terminate(err, netcode.CodeIdleTimeout, "idle timeout", sendCloseFrame)
			return
		}
		next := interval
		if idle := now - c.lastWrite.Load(); idle < interval {
			next = interval - idle
		} else {
			c.wmu.Lock()
			c.wbuf = append(c.wbuf[:0], markHeartbeat)
			err := c.writeLocked()
			c.wmu.Unlock()
			if err != nil {
				if p := c.broken.Load(); p != nil {
					c.terminate(*p, 0, "", skipCloseFrame) // nobody may be reading to notice
				}
				return // closed: by terminate, here or elsewhere
			}
		}
		if c.handshakeBy > 0 && !c.first.Load() {
			next = min(next, c.handshakeBy-now)
		}
		if by > 0 {
			next = min(next, by-now)
		}
		t.Reset(time.Duration(max(next, int64(time.Millisecond))))
	}
}

// Close sends a close frame carrying code and reason (best effort: the
// close handshake is bounded by 250 ms), closes the socket and waits for
// the Conn's goroutine. Idempotent: later calls return nil.
func (c *Conn) Close(code netcode.Code, reason string) error {
	c.terminate(netcode.ErrClosed, code, reason, sendCloseFrame)
	<-c.finished
	return nil
}

// closeFrame says whether terminate sends a close frame.
type closeFrame uint8

const (
	skipCloseFrame closeFrame = iota // the peer closed or the stream is gone: nothing to send
	sendCloseFrame                   // send one if the stream is still sound
)

// terminate closes the Conn once: cause is what ReadMessage reports from
// now on; with sendCloseFrame and a sound stream, a close frame with code
// and reason goes out first. It does not wait for run (which may be its
// caller); Close does.
func (c *Conn) terminate(cause error, code netcode.Code, reason string, send closeFrame) {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return
	}
	c.cause = cause
	c.closed.Store(true)
	c.mu.Unlock()

	// Cut any write or read in progress short, then take the write lock.
	if err := c.nc.SetDeadline(time.Now().Add(closeTimeout)); err != nil {
		c.log.Debug("ws: shorten deadline", "err", err) // the socket may be closed already
	}
	c.wmu.Lock()
	if err := c.nc.SetDeadline(time.Now().Add(closeTimeout)); err != nil {
		send = skipCloseFrame
	}
	var err error
	if send == sendCloseFrame && c.broken.Load() == nil {
		err = c.ws.Close(statusOf(code), netcode.TruncateUTF8(reason, MaxCloseReason))
	} else {
		err = c.ws.CloseNow()
	}
	if err != nil {
		c.log.Debug("ws: close", "remote", c.remote, "err", err)
	}
	if err := c.nc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("ws: close socket", "remote", c.remote, "err", err)
	}
	c.wmu.Unlock()
	close(c.done)
	c.log.Debug("ws: closed", "remote", c.remote, "cause", cause)
}

// releasePending gives the Listener's pending place back, once.
func (c *Conn) releasePending() {
	if c.lc != nil && c.pendingDone.CompareAndSwap(false, true) {
		c.lc.pending.Add(-1)
	}
}

// Stats returns a snapshot of the counters. Bytes are WebSocket message
// bytes (marks and heartbeats included, WebSocket frame headers not).
// Stats.RTT stays 0: read it with netcode.RTTOf (RTT).
func (c *Conn) Stats() netcode.Stats { return c.ctr.Snapshot(transportName) }

// RTT is the kernel's smoothed estimate for the TCP socket under the
// WebSocket (TCP_INFO, Linux; one system call; behind a proxy, the
// proxy's leg), 0 where it cannot be read. It implements netcode.RTTer.
func (c *Conn) RTT() time.Duration { return tcprtt.Of(c.nc) }

// Transport returns "ws".
func (c *Conn) Transport() string { return transportName }

// LocalAddr returns the local address of the socket.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's address: on a server, the client address
// under the assembly's trusted-proxy rule (netcode.Env.RemoteAddr), so
// that the engine's per-address caps count the real client.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }
