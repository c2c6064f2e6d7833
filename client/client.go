package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Defaults for zero Options fields.
const (
	DefaultQueueSize        = 256
	DefaultPingInterval     = time.Second
	DefaultHandshakeTimeout = 10 * time.Second
)

// Options configure Dial. Addr and Token are required; every other zero
// field means its default.
type Options struct {
	// Dial opens the connection (required): any transport's dial
	// function, e.g. kcp.Dialer{Addr: "host:7777"}.Dial or
	// tcp.Dialer{Addr: "host:7778"}.Dial, or a test's in-memory link.
	// The SDK runs over whatever it returns.
	Dial DialFunc
	// Token is a bearer token from the HTTP API (GuestToken, login).
	Token string
	// Name and Version identify the client program in Hello (logs only).
	Name, Version string
	// ProtocolVersion is sent in Hello (default frame.ProtocolVersion).
	ProtocolVersion uint16
	// Logger receives client events (default: discard).
	Logger *slog.Logger
	// Handler, if set, receives every message that is not a reply to a
	// Call, on the reader goroutine; otherwise they go to Messages().
	// While it runs nothing else is read (replies to Calls and Pongs
	// included), and Close waits for it to return.
	Handler func(m Message)
	// QueueSize is the capacity of the Messages() channel (default 256).
	// When it is full new messages are dropped and counted.
	QueueSize int
	// PingInterval is how often the client pings to keep its RTT and
	// clock-offset estimates fresh (default: the server's heartbeat
	// interval from Welcome, else 1s). Negative disables periodic pings.
	PingInterval time.Duration
	// HandshakeTimeout bounds Dial when ctx has no deadline (default 10s).
	HandshakeTimeout time.Duration
}

// DialFunc opens a connection to a server. It honours ctx's deadline.
type DialFunc func(ctx context.Context) (netcode.Conn, error)

// Message is one frame received from the server.
type Message struct {
	Channel netcode.Channel
	Kind    frame.Kind
	// Ref is the request ref of a reply (0 for pushes and session kinds).
	Ref uint32
	// Data is the whole encoded frame; the client does not reuse it.
	Data []byte
}

// Decode decodes the message into f.
func (m Message) Decode(f frame.Frame) error { return frame.Unmarshal(m.Data, f) }

// Client is one session with a tickwire server.
type Client struct {
	conn    netcode.Conn
	o       Options
	log     *slog.Logger
	welcome frame.Welcome

	wmu sync.Mutex // guards enc and serialises WriteMessage
	enc *frame.Encoder

	mu      sync.Mutex // guards the fields below
	pending map[uint32]chan Message
	pings   map[int64]pingWait
	samples [8]sample // recent Ping samples, for the clock offset
	nsample int
	err     error // why the client ended; set once

	nextRef atomic.Uint32
	srtt    atomic.Int64 // smoothed RTT, ns
	offset  atomic.Int64 // server clock minus local clock, ns
	drops   atomic.Uint64

	msgs      chan Message
	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	done      chan struct{} // closed when the reader has ended
	wg        sync.WaitGroup
}

type pingWait struct {
	sent time.Time
	ch   chan time.Duration
}

type sample struct {
	rtt, offset time.Duration
}

// Dial connects, sends Hello and waits for Welcome. A server that refuses
// the session (with an Error frame, a Close frame or a transport close)
// makes Dial return a *netcode.CodedError with the server's code (e.g.
// CodeBadToken, CodeTokenExpired, CodeProtocolVersion, CodeServerShutdown),
// so errors.Is(err, netcode.CodeTokenExpired) works.
func Dial(ctx context.Context, o Options) (*Client, error) {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.ProtocolVersion == 0 {
		o.ProtocolVersion = frame.ProtocolVersion
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.HandshakeTimeout)
		defer cancel()
	}

	if o.Dial == nil {
		return nil, ErrNoDial
	}
	conn, err := o.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: dial: %w", err)
	}
	c := &Client{
		conn:    conn,
		o:       o,
		log:     o.Logger,
		enc:     frame.NewEncoder(),
		pending: map[uint32]chan Message{},
		pings:   map[int64]pingWait{},
		msgs:    make(chan Message, o.QueueSize),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if err := c.handshake(ctx); err != nil {
		_ = conn.Close(netcode.CodeOK, "handshake failed") // best effort; the handshake error is the one reported
		return nil, err
	}
	interval := o.PingInterval
	if interval == 0 {
		interval = time.Duration(c.welcome.HeartbeatMs) * time.Millisecond
		if interval <= 0 {
			interval = DefaultPingInterval
		}
	}
	c.wg.Add(1)
	go c.readLoop()
	if interval > 0 {
		c.wg.Add(1)
		go c.pingLoop(interval)
	}
	return c, nil
}

// handshake sends Hello and reads the answer.
func (c *Client) handshake(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = c.conn.Close(netcode.CodeOK, "dial cancelled") })
	defer stop()
	sent := time.Now()
	err := c.Send(netcode.Reliable, &frame.Hello{
		Version:       c.o.ProtocolVersion,
		Token:         c.o.Token,
		ClientName:    c.o.Name,
		ClientVersion: c.o.Version,
	})
	if err != nil {
		return fmt.Errorf("client: sending Hello: %w", err)
	}
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("client: waiting for Welcome: %w", ctx.Err())
			}
			var ce *netcode.CloseError
			if errors.As(err, &ce) { // refused at the transport level (e.g. listener full)
				return &netcode.CodedError{Code: ce.Code, Msg: ce.Reason, Err: err}
			}
			return fmt.Errorf("client: waiting for Welcome: %w", err)
		}
		k, err := frame.Peek(b)
		if err != nil {
			return fmt.Errorf("client: waiting for Welcome: %w", err)
		}
		switch k {
		case frame.KindWelcome:
			if err := frame.Unmarshal(b, &c.welcome); err != nil {
				return fmt.Errorf("client: bad Welcome: %w", err)
			}
			if !stop() { // ctx ended just now and the connection is being closed
				return fmt.Errorf("client: waiting for Welcome: %w", ctx.Err())
			}
			rtt := time.Since(sent)
			c.srtt.Store(int64(rtt))
			off := time.UnixMicro(c.welcome.ServerTimeUs).Sub(sent.Add(rtt / 2))
			c.offset.Store(int64(off))
			return nil
		case frame.KindError:
			var e frame.Error
			if err := frame.Unmarshal(b, &e); err != nil {
				return fmt.Errorf("client: bad Error frame: %w", err)
			}
			return &netcode.CodedError{Code: e.Code, Msg: e.Message}
		case frame.KindClose:
			var cl frame.Close
			if err := frame.Unmarshal(b, &cl); err != nil {
				return fmt.Errorf("client: bad Close frame: %w", err)
			}
			return &netcode.CodedError{Code: cl.Code, Msg: cl.Reason, Err: &netcode.CloseError{Code: cl.Code, Reason: cl.Reason}}
		default:
			return fmt.Errorf("%w: kind %d before Welcome", ErrUnexpectedFrame, k)
		}
	}
}

// Welcome returns the server's Welcome.
func (c *Client) Welcome() frame.Welcome { return c.welcome }

// Send encodes f and sends it on ch.
func (c *Client) Send(ch netcode.Channel, f frame.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, err := c.enc.Encode(f)
	if err != nil {
		return fmt.Errorf("client: encoding kind %d: %w", f.Kind(), err)
	}
	return c.write(ch, b)
}

// SendRaw sends already encoded bytes on ch.
func (c *Client) SendRaw(ch netcode.Channel, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(ch, b)
}

// write sends b; c.wmu is held.
func (c *Client) write(ch netcode.Channel, b []byte) error {
	select {
	case <-c.done:
		return c.endErr()
	default:
	}
	if err := c.conn.WriteMessage(ch, b); err != nil {
		return fmt.Errorf("client: send: %w", err)
	}
	return nil
}

// Call stamps req with a fresh ref, sends it reliably and waits for the
// reply carrying the same ref. An Error reply is returned as the message
// and a *netcode.CodedError.
func (c *Client) Call(ctx context.Context, req frame.Refer) (Message, error) {
	ref := c.nextRef.Add(1)
	if ref == 0 {
		ref = c.nextRef.Add(1)
	}
	req.SetRef(ref)
	w := make(chan Message, 1)
	c.mu.Lock()
	c.pending[ref] = w
	c.mu.Unlock()
	if err := c.Send(netcode.Reliable, req); err != nil {
		c.forget(ref)
		return Message{}, err
	}
	select {
	case m := <-w:
		if m.Kind == frame.KindError {
			var e frame.Error
			if err := frame.Unmarshal(m.Data, &e); err != nil {
				return m, fmt.Errorf("client: bad Error reply: %w", err)
			}
			return m, &netcode.CodedError{Code: e.Code, Msg: e.Message}
		}
		return m, nil
	case <-ctx.Done():
		c.forget(ref)
		return Message{}, ctx.Err()
	case <-c.done:
		c.forget(ref)
		return Message{}, c.endErr()
	}
}

func (c *Client) forget(ref uint32) {
	c.mu.Lock()
	delete(c.pending, ref)
	c.mu.Unlock()
}

// Messages returns the channel of received messages that are not replies
// to a Call (unused when Options.Handler is set). It is closed when the
// client ends.
func (c *Client) Messages() <-chan Message { return c.msgs }

// Ping measures one round trip and updates the RTT and clock-offset
// estimates.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	now := time.Now()
	us := now.UnixMicro()
	w := pingWait{sent: now, ch: make(chan time.Duration, 1)}
	c.mu.Lock()
	for {
		if _, taken := c.pings[us]; !taken {
			break
		}
		us++
	}
	c.pings[us] = w
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pings, us)
		c.mu.Unlock()
	}
	if err := c.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: us}); err != nil {
		forget()
		return 0, err
	}
	select {
	case rtt := <-w.ch:
		return rtt, nil
	case <-ctx.Done():
		forget()
		return 0, ctx.Err()
	case <-c.done:
		forget()
		return 0, c.endErr()
	}
}

// RTT is the smoothed round-trip time (first estimated from the
// handshake, then from Pings).
func (c *Client) RTT() time.Duration { return time.Duration(c.srtt.Load()) }

// ClockOffset is the server clock minus the local clock, taken from the
// recent Ping with the smallest round trip.
func (c *Client) ClockOffset() time.Duration { return time.Duration(c.offset.Load()) }

// ServerNow estimates the server's clock now.
func (c *Client) ServerNow() time.Time { return time.Now().Add(c.ClockOffset()) }

// Stats returns the transport's counters; Drops[DropQueueFull] includes
// messages dropped because Messages() was full.
func (c *Client) Stats() netcode.Stats {
	s := c.conn.Stats()
	s.Drops[netcode.DropQueueFull] += c.drops.Load()
	if rtt := c.RTT(); rtt > 0 {
		s.RTT = rtt
	}
	return s
}

// Done is closed when the client has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err tells why the client ended: a *netcode.CloseError with the server's
// code when the server closed the session (e.g. CodeServerShutdown), the
// transport's error when the link failed, ErrClosed after Close. It is nil
// while the client runs.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.endErr()
	default:
		return nil
	}
}

func (c *Client) endErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return ErrClosed
	}
	return c.err
}

// setErr records why the client ended; the first reason wins.
func (c *Client) setErr(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// Close ends the session and waits for the client's goroutines. It is
// idempotent. It must not be called from a Handler. Close waits for a
// Handler that is running to return, so that no Handler runs after Close:
// a Handler blocked for good (on a channel nobody will ever feed) blocks
// Close for good too — unblock it before, or at the latest while, closing.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.setErr(ErrClosed)
		close(c.closing)
		_ = c.conn.Close(netcode.CodeOK, "client closed") // best effort
	})
	c.wg.Wait()
	return nil
}

// readLoop reads until the connection ends.
func (c *Client) readLoop() {
	defer c.wg.Done()
	defer close(c.done)
	defer close(c.msgs)
	var pong frame.Pong
	var cl frame.Close
	for {
		ch, b, err := c.conn.ReadMessage()
		if err != nil {
			c.setErr(err)
			return
		}
		now := time.Now()
		k, ref, err := frame.PeekRef(b)
		if err != nil {
			c.log.Warn("bad frame from server", "err", err)
			continue
		}
		switch {
		case k == frame.KindPong:
			if frame.Unmarshal(b, &pong) == nil {
				c.onPong(now, pong)
			}
			continue
		case k == frame.KindClose:
			if frame.Unmarshal(b, &cl) == nil {
				c.setErr(&netcode.CloseError{Code: cl.Code, Reason: cl.Reason})
			}
			// The server lingers until we close our end.
			_ = c.conn.Close(netcode.CodeOK, "closed by server")
			continue
		case ref != 0 && (k == frame.KindError || k == frame.KindOK || k >= frame.FirstServiceKind):
			c.mu.Lock()
			w, ok := c.pending[ref]
			delete(c.pending, ref)
			c.mu.Unlock()
			if ok {
				w <- Message{Channel: ch, Kind: k, Ref: ref, Data: append([]byte(nil), b...)}
				continue
			}
		}
		m := Message{Channel: ch, Kind: k, Ref: ref, Data: append([]byte(nil), b...)}
		if c.o.Handler != nil {
			c.o.Handler(m)
			continue
		}
		select {
		case c.msgs <- m:
		default:
			c.drops.Add(1)
		}
	}
}

// onPong updates RTT and offset from a Pong and wakes its Ping.
func (c *Client) onPong(now time.Time, p frame.Pong) {
	c.mu.Lock()
	w, ok := c.pings[p.ClientTimeUs]
	delete(c.pings, p.ClientTimeUs)
	var rtt time.Duration
	if ok {
		rtt = now.Sub(w.sent) // monotonic
	} else {
		rtt = time.Duration(now.UnixMicro()-p.ClientTimeUs) * time.Microsecond
	}
	if rtt < 0 {
		c.mu.Unlock()
		return
	}
	off := time.Duration(p.ServerTimeUs-p.ClientTimeUs)*time.Microsecond - rtt/2
	c.samples[c.nsample%len(c.samples)] = sample{rtt: rtt, offset: off}
	c.nsample++
	best := c.samples[0]
	for _, s := range c.samples[:min(c.nsample, len(c.samples))] {
		if s.rtt < best.rtt {
			best = s
		}
	}
	c.offset.Store(int64(best.offset))
	c.mu.Unlock()

	if old := c.srtt.Load(); old == 0 || c.nsample == 1 {
		c.srtt.Store(int64(rtt))
	} else {
		c.srtt.Store(old - old/8 + int64(rtt)/8)
	}
	if ok {
		w.ch <- rtt
	}
}

// pingLoop pings every interval until the client ends.
func (c *Client) pingLoop(interval time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*interval)
		_, err := c.Ping(ctx) // returns early when the client ends
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			c.log.Debug("ping failed", "err", err)
		}
		select {
		case <-t.C:
		case <-c.done:
			return
		case <-c.closing:
			return
		}
	}
}
