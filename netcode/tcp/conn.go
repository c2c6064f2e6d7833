package tcp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/internal/tcprtt"
	"github.com/tickwire/tickwire/netcode"
)

// transportName is what Transport and Stats report.
const transportName = "tcp"

// readBufferSize is the bufio size in front of the socket: small records
// are read with one syscall for many.
const readBufferSize = 16 << 10

var (
	_ netcode.Conn  = (*Conn)(nil)
	_ netcode.RTTer = (*Conn)(nil)
)

// Conn is one framed TCP connection. See the package doc for the
// concurrency contract.
type Conn struct {
	nc    net.Conn
	cfg   Config
	log   *slog.Logger
	epoch time.Time // monotonic base for lastWrite

	// rr is owned by the goroutine calling ReadMessage.
	rr recordReader
	// tc is nc as a *tls.Conn (nil for plain TCP) and raw the socket
	// under it (nc itself for plain TCP). tlsUp is set once tc's
	// handshake succeeded (the heartbeat goroutine runs it first): until
	// then nothing is written (no heartbeat, no close record), so that
	// Close never waits for a handshake.
	tc    *tls.Conn
	raw   net.Conn
	tlsUp atomic.Bool

	wmu  sync.Mutex // guards wbuf and every write to nc
	wbuf []byte     // the record being written; reused
	// broken is the first write failure: the stream may hold a partial
	// record, so nothing more is written. Set under wmu, read anywhere.
	broken atomic.Pointer[error]

	lastWrite atomic.Int64 // nanoseconds since epoch of the last completed write

	closed atomic.Bool // set once, under mu, by shutdown
	mu     sync.Mutex  // guards cause
	cause  error       // what ReadMessage reports once closed

	done     chan struct{}  // closed by shutdown: stops the heartbeat goroutine
	shutDone chan struct{}  // closed when shutdown has finished: later callers wait for it
	wg       sync.WaitGroup // the heartbeat goroutine

	ctr netcode.Counters // what Stats reports

	released  func() // set by the Listener before the Conn is shared: called once when it closes
	tlsFailed func() // set by the Listener before the Conn is shared: called when the TLS handshake fails
}

// Dial connects to addr and returns a Conn.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: dial %s: %w", addr, err)
	}
	if cfg.TLS == nil {
		return newConn(nc, cfg), nil
	}
	if cfg.TLS.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.TLS.ServerName = host // cfg.TLS is populate's clone
	}
	tc := tls.Client(nc, cfg.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close() // the handshake failed: its error is the one reported
		return nil, fmt.Errorf("tcp: dial %s: tls: %w", addr, netcode.TLSFailure(err))
	}
	c := newConn(tc, cfg)
	c.tlsUp.Store(true)
	return c, nil
}

// NewConn wraps an established stream (usually a *net.TCPConn, or a
// *tls.Conn whose handshake the first ReadMessage completes if it has not
// run yet) in a Conn; the Conn owns c from now on. Config.TLS is not
// used: wrap c in TLS before. Invalid Config fields fall back to their
// defaults (with a warning in the log): validate a Config with
// Config.Validate first when that matters.
func NewConn(c net.Conn, cfg Config) *Conn {
	pc, err := cfg.populate()
	if err != nil {
		pc.Logger.Warn("tcp: invalid config, using defaults", "err", err)
		pc = Config{Logger: pc.Logger}.defaults()
	}
	return newConn(c, pc)
}

func newConn(nc net.Conn, cfg Config) *Conn {
	tc, _ := nc.(*tls.Conn)
	raw := nc
	if tc != nil {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		if err := tcp.SetNoDelay(true); err != nil {
			cfg.Logger.Debug("tcp: set nodelay", "err", err)
		}
	}
	c := &Conn{
		tc:       tc,
		raw:      raw,
		nc:       nc,
		cfg:      cfg,
		log:      cfg.Logger,
		epoch:    time.Now(),
		rr:       recordReader{r: bufio.NewReaderSize(nc, readBufferSize), max: cfg.MaxMessageSize},
		done:     make(chan struct{}),
		shutDone: make(chan struct{}),
	}
	c.wg.Add(1)
	go c.heartbeatLoop()
	return c
}

// ReadMessage returns the next message. The bytes are valid until the
// next call. Heartbeats are consumed silently. Errors: *netcode.CloseError
// after the peer's close record; netcode.ErrClosed after a local Close;
// an error matching netcode.ErrIdleTimeout (and netcode.CodeIdleTimeout)
// when nothing arrived within IdleTimeout; a *netcode.CodedError for a
// protocol violation (the peer is sent a close record with that code). Any
// error closes the Conn and repeats on later calls.
func (c *Conn) ReadMessage() (netcode.Channel, []byte, error) {
	for {
		if c.closed.Load() {
			return 0, nil, c.readCause()
		}
		if err := c.nc.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout)); err != nil {
			return 0, nil, c.fail(err)
		}
		if c.tc != nil && !c.tlsUp.Load() {
			// Bounded by the read deadline just set; Close cuts it short
			// by closing the socket.
			if err := c.tc.Handshake(); err != nil {
				return 0, nil, c.handshakeFailed(err)
			}
			c.tlsUp.Store(true)
		}
		typ, body, err := c.rr.next()
		if err != nil {
			return 0, nil, c.fail(err)
		}
		c.ctr.BytesRecv.Add(uint64(HeaderSize + len(body)))
		switch typ {
		case recReliable, recUnreliable:
			c.ctr.MsgsRecv.Add(1)
			return netcode.Channel(typ), body, nil
		case recHeartbeat:
			continue
		case recClose:
			code, reason, err := decodeClose(body)
			if err != nil {
				return 0, nil, c.fail(err)
			}
			c.shutdown(&netcode.CloseError{Code: code, Reason: reason}, skipCloseRecord, 0, "")
			return 0, nil, c.readCause()
		}
	}
}

// fail turns a read error into the Conn's terminal error and closes.
func (c *Conn) fail(err error) error {
	if c.closed.Load() {
		return c.readCause()
	}
	var werr error
	if p := c.broken.Load(); p != nil {
		werr = *p
	}
	var ne net.Error
	var ce *netcode.CodedError
	switch {
	case werr != nil:
		c.shutdown(werr, skipCloseRecord, 0, "")
	case errors.As(err, &ce):
		c.ctr.Drops[netcode.DropMalformed].Add(1)
		c.log.Debug("tcp: protocol error from peer", "remote", c.nc.RemoteAddr(), "err", err)
		c.shutdown(err, sendCloseRecord, ce.Code, ce.Msg)
	case errors.As(err, &ne) && ne.Timeout():
		ie := &netcode.CodedError{Code: netcode.CodeIdleTimeout,
			Msg: fmt.Sprintf("tcp: nothing received for %v", c.cfg.IdleTimeout), Err: netcode.ErrIdleTimeout}
		c.shutdown(ie, sendCloseRecord, netcode.CodeIdleTimeout, "idle timeout")
	case errors.Is(err, io.EOF):
		c.shutdown(fmt.Errorf("%w: peer ended the stream without a close record", netcode.ErrClosed), skipCloseRecord, 0, "")
	default:
		c.shutdown(fmt.Errorf("%w: read: %w", netcode.ErrClosed, err), skipCloseRecord, 0, "")
	}
	return c.readCause()
}

// handshakeFailed ends the Conn after a failed TLS handshake: no close
// record can be sent without one.
func (c *Conn) handshakeFailed(err error) error {
	if c.closed.Load() {
		return c.readCause()
	}
	if c.tlsFailed != nil {
		c.tlsFailed()
	}
	c.log.Debug("tcp: tls handshake failed", "remote", c.nc.RemoteAddr(), "err", err)
	c.shutdown(fmt.Errorf("%w: tcp: tls: %w", netcode.ErrHandshake, netcode.TLSFailure(err)), skipCloseRecord, 0, "")
	return c.readCause()
}

func (c *Conn) readCause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// WriteMessage sends one message as one record. It does not retain p.
func (c *Conn) WriteMessage(ch netcode.Channel, p []byte) error {
	if !ch.Valid() {
		return netcode.ErrBadChannel
	}
	if len(p) > c.cfg.MaxMessageSize {
		c.ctr.Drops[netcode.DropTooLarge].Add(1)
		return fmt.Errorf("%w: %d bytes, limit %d", netcode.ErrMessageTooLarge, len(p), c.cfg.MaxMessageSize)
	}
	c.wmu.Lock()
	c.wbuf = appendRecord(c.wbuf[:0], byte(ch), p)
	err := c.writeLocked(c.cfg.WriteTimeout)
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	c.ctr.MsgsSent.Add(1)
	return nil
}

// writeLocked writes c.wbuf as one write bounded by timeout. The caller
// holds wmu.
func (c *Conn) writeLocked(timeout time.Duration) error {
	if c.closed.Load() {
		c.ctr.Drops[netcode.DropClosed].Add(1)
		return netcode.ErrClosed
	}
	if p := c.broken.Load(); p != nil {
		return *p
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return c.writeFailed(err)
	}
	// Close may have started after the check above and shortened the
	// deadline; our SetWriteDeadline may have undone that, so look again.
	if c.closed.Load() {
		c.ctr.Drops[netcode.DropClosed].Add(1)
		return netcode.ErrClosed
	}
	n, err := c.nc.Write(c.wbuf)
	c.ctr.BytesSent.Add(uint64(n))
	if err != nil {
		return c.writeFailed(err)
	}
	c.lastWrite.Store(int64(time.Since(c.epoch)))
	return nil
}

// writeFailed records the first write failure and closes the socket, so
// that the reader unblocks; the stream may now hold a partial record, so
// nothing more is written. The caller holds wmu.
func (c *Conn) writeFailed(err error) error {
	if c.closed.Load() {
		return netcode.ErrClosed
	}
	err = netcode.WriteFailure(transportName, c.cfg.WriteTimeout, err)
	c.broken.Store(&err)
	if cerr := c.raw.Close(); cerr != nil {
		c.log.Debug("tcp: close after write failure", "err", cerr)
	}
	return err
}

// handshake runs the server's TLS handshake as soon as the Conn exists,
// so that a client's Dial completes before anyone reads (ReadMessage
// waits for this handshake and reports its failure). It is bounded by the
// idle timeout; Close ends it at once by closing the socket.
func (c *Conn) handshake() bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.IdleTimeout)
	defer cancel()
	if err := c.tc.HandshakeContext(ctx); err != nil {
		return false
	}
	c.tlsUp.Store(true)
	return true
}

// heartbeatLoop runs a pending TLS handshake, then sends a heartbeat
// record whenever nothing was written for HeartbeatInterval. It is the
// Conn's only goroutine; shutdown waits for it.
func (c *Conn) heartbeatLoop() {
	defer c.wg.Done()
	if c.tc != nil && !c.tlsUp.Load() && !c.handshake() {
		return
	}
	interval := c.cfg.HeartbeatInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		idle := time.Since(c.epoch) - time.Duration(c.lastWrite.Load())
		if idle < interval {
			t.Reset(interval - idle)
			continue
		}
		c.wmu.Lock()
		c.wbuf = appendRecord(c.wbuf[:0], recHeartbeat, nil)
		err := c.writeLocked(c.cfg.WriteTimeout)
		c.wmu.Unlock()
		if err != nil {
			// The reader sees the failure (the socket is closed) or Close
			// is already under way; either way the loop is done.
			return
		}
		t.Reset(interval)
	}
}

// Close sends a close record carrying code and reason (best effort, bounded
// by a short write deadline), closes the socket and waits for the
// heartbeat goroutine. Idempotent: later calls return nil.
func (c *Conn) Close(code netcode.Code, reason string) error {
	c.shutdown(netcode.ErrClosed, sendCloseRecord, code, reason)
	return nil
}

// closeRecord says whether shutdown sends a close record.
type closeRecord uint8

const (
	skipCloseRecord closeRecord = iota // the stream is gone or the peer closed it: nothing to send
	sendCloseRecord                    // send one (best effort) if the stream is still sound
)

// shutdown closes the Conn once: cause is what ReadMessage reports from
// now on; with sendCloseRecord a close record carrying code and reason
// goes out first if the stream is still sound. A call that finds the Conn already closing waits until the
// first call has finished, so that every Close returns with the socket
// closed and the heartbeat goroutine gone.
func (c *Conn) shutdown(cause error, record closeRecord, code netcode.Code, reason string) {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		<-c.shutDone
		return
	}
	c.cause = cause
	c.closed.Store(true)
	c.mu.Unlock()

	if c.tc != nil && !c.tlsUp.Load() {
		// No TLS yet, so no close record (writing one would wait for the
		// handshake in progress); closing the socket below ends that
		// handshake at once.
		record = skipCloseRecord
	}

	// Cut any write in progress short, then take the write lock.
	if err := c.nc.SetWriteDeadline(time.Now().Add(closeWriteTimeout)); err != nil {
		c.log.Debug("tcp: shorten write deadline", "err", err) // the socket may be closed already
	}
	c.wmu.Lock()
	if record == sendCloseRecord && c.broken.Load() == nil {
		c.wbuf = appendClose(c.wbuf[:0], code, reason)
		if err := c.nc.SetWriteDeadline(time.Now().Add(closeWriteTimeout)); err == nil {
			if n, err := c.nc.Write(c.wbuf); err != nil {
				c.log.Debug("tcp: close record not sent", "remote", c.nc.RemoteAddr(), "err", err)
			} else {
				c.ctr.BytesSent.Add(uint64(n))
			}
		}
	}
	c.wmu.Unlock()
	close(c.done)
	// The socket itself, also under TLS: the close record ends the
	// session inside the encryption, and a TLS close_notify could block
	// for seconds on a peer that does not read.
	if err := c.raw.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("tcp: close", "remote", c.nc.RemoteAddr(), "err", err)
	}
	c.wg.Wait()
	if c.released != nil {
		c.released()
	}
	close(c.shutDone)
	c.log.Debug("tcp: closed", "remote", c.nc.RemoteAddr(), "cause", cause)
}

// Stats returns a snapshot of the counters. Bytes are wire bytes (record
// headers, heartbeats and close records included). Stats.RTT stays 0:
// read it with netcode.RTTOf (RTT).
func (c *Conn) Stats() netcode.Stats { return c.ctr.Snapshot(transportName) }

// RTT is the kernel's smoothed estimate for the socket (TCP_INFO, Linux;
// one system call), 0 where it cannot be read. It implements
// netcode.RTTer.
func (c *Conn) RTT() time.Duration { return tcprtt.Of(c.raw) }

// Transport returns "tcp".
func (c *Conn) Transport() string { return transportName }

// LocalAddr returns the local address of the stream.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }
