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
	// included), and Close waits for it to return. The pushes of rooms
	// joined through a redirect come from the reader of the session on
	// that node: calls are never concurrent, but may come from either.
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
	// Dials are more dial functions, tried in order after Dial fails (or
	// alone when Dial is nil), at Dial and at every resume: a transport
	// fallback such as KCP, then TCP, then WebSocket.
	Dials []DialFunc
	// Resume configures the automatic resume of the session after its
	// connection is lost (docs/RESUME.md).
	Resume ResumeOptions
	// Redirect configures how room joins follow a redirect to the node
	// that owns the room, in a cluster (redirect.go).
	Redirect RedirectOptions
	// OnSession, if set, is told when the connection is lost, when the
	// session resumed and when it could not be resumed. It runs on the
	// client's reader goroutine: it must not block, and must not call
	// Close.
	OnSession func(SessionEvent)
}

// ResumeOptions configure the automatic resume. The zero value resumes,
// whenever the server offers it, until the server's resume window has
// passed.
type ResumeOptions struct {
	// Off turns the automatic resume off: a lost connection ends the
	// client, as it did before resume existed.
	Off bool
	// Backoff is the wait after a round of failed attempts (every dial
	// function tried once), doubling up to MaxBackoff, each wait with up
	// to 50 % random jitter added (defaults 100 ms and 2 s).
	Backoff, MaxBackoff time.Duration
	// MaxAttempts bounds the rounds (default: until the server's resume
	// window, from Welcome, has passed since the loss).
	MaxAttempts int
	// AttemptTimeout bounds one attempt, dial and Resume to Welcome
	// (default 5 s).
	AttemptTimeout time.Duration
}

// Resume defaults.
const (
	DefaultResumeBackoff        = 100 * time.Millisecond
	DefaultResumeMaxBackoff     = 2 * time.Second
	DefaultResumeAttemptTimeout = 5 * time.Second
	// ResendFrames is how many of its latest numbered frames the client
	// keeps to resend after a resume.
	ResendFrames = 256
	// AckEvery and AckDelay: the client acknowledges the numbered frames
	// it processed once AckEvery arrived since its last Ack, or AckDelay
	// after the first one its last Ack did not cover.
	AckEvery = 32
	AckDelay = 200 * time.Millisecond
)

// SessionEventKind says what happened to the session's connection.
type SessionEventKind uint8

const (
	// SessionLost: the connection was lost; the client is resuming.
	// Sends meanwhile are kept (numbered frames) or dropped (unreliable
	// and session frames), Calls keep waiting.
	SessionLost SessionEventKind = iota + 1
	// SessionResumed: the session continues on a new connection; the
	// frames missed meanwhile follow, each once, in order.
	SessionResumed
	// SessionEnded: the session could not be resumed; the client has
	// ended (Err tells why, matching netcode.CodeConnectionLost). Dial a
	// new Client and join the rooms again.
	SessionEnded
)

// SessionEvent is one event of the session's connection.
type SessionEvent struct {
	Kind SessionEventKind
	// Err: why the connection was lost (SessionLost) or why the resume
	// failed (SessionEnded).
	Err error
	// Transport of the new connection, and how many frames the server
	// replayed and the client resent (SessionResumed).
	Transport string
	Replayed  int
	Resent    int
	// Attempts is how many attempts the resume took.
	Attempts int
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
	conn    netcode.Conn // written by the reader under wmu; read by the reader, or under wmu
	o       Options
	dials   []DialFunc
	log     *slog.Logger
	welcome frame.Welcome // written by the reader under mu after Dial

	ctx    context.Context // cancelled by Close: ends resume attempts
	cancel context.CancelFunc

	wmu       sync.Mutex // guards enc, the fields below, and serialises WriteMessage
	enc       *frame.Encoder
	resumable bool     // the server offers resume and it is on
	down      bool     // the connection was lost: resuming
	sent      uint64   // numbered frames sent (kept in out)
	out       [][]byte // the latest numbered frames sent, by (number-1) % ResendFrames

	recv         atomic.Uint64 // numbered frames received and processed
	acked        atomic.Uint64 // the count last acknowledged
	serverClosed bool          // reader-owned: the server sent Close: no resume

	mu      sync.Mutex // guards the fields below
	pending map[uint32]chan Message
	pings   map[int64]pingWait
	samples [8]sample // recent Ping samples, for the clock offset
	nsample int
	err     error              // why the client ended; set once
	nodes   map[string]*Client // sessions on other nodes, by HTTP base (redirect.go)
	// nodeRooms are the rooms joined on each node session, told
	// CodeNodeGone when it ends (redirect.go).
	nodeRooms map[*Client][]uint64
	closed    bool // Close began: no new node sessions

	fwdMu     sync.Mutex // guards fwdClosed and serialises deliveries from node sessions
	fwdClosed bool       // msgs is closed: node sessions deliver nothing more

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

	var dials []DialFunc
	if o.Dial != nil {
		dials = append(dials, o.Dial)
	}
	dials = append(dials, o.Dials...)
	if len(dials) == 0 {
		return nil, ErrNoDial
	}
	c := &Client{
		o:         o,
		dials:     dials,
		log:       o.Logger,
		enc:       frame.NewEncoder(),
		pending:   map[uint32]chan Message{},
		pings:     map[int64]pingWait{},
		nodes:     map[string]*Client{},
		nodeRooms: map[*Client][]uint64{},
		msgs:      make(chan Message, o.QueueSize),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	hello := &frame.Hello{Version: o.ProtocolVersion, Token: o.Token, ClientName: o.Name, ClientVersion: o.Version, Resume: !o.Resume.Off}
	var err error
	for i, d := range dials {
		var conn netcode.Conn
		if conn, err = d(ctx); err != nil {
			err = fmt.Errorf("client: dial: %w", err)
			if ctx.Err() != nil {
				break
			}
			continue // the next transport
		}
		sent := time.Now()
		if c.welcome, err = exchange(ctx, conn, hello); err != nil {
			_ = conn.Close(netcode.CodeOK, "handshake failed") // best effort; the handshake error is the one reported
			var ce *netcode.CodedError
			if errors.As(err, &ce) && !retryable(ce) || ctx.Err() != nil {
				return nil, err // the server answered: another transport gets the same answer
			}
			c.log.Debug("transport failed", "dial", i, "err", err)
			continue
		}
		c.conn = conn
		rtt := time.Since(sent)
		c.srtt.Store(int64(rtt))
		c.offset.Store(int64(time.UnixMicro(c.welcome.ServerTimeUs).Sub(sent.Add(rtt / 2))))
		break
	}
	if c.conn == nil {
		return nil, err
	}
	c.resumable = !o.Resume.Off && c.welcome.ResumeWindowMs > 0 && c.welcome.ResumeID != ""
	if c.resumable {
		c.out = make([][]byte, ResendFrames)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
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
	if c.resumable {
		c.wg.Add(1)
		go c.ackLoop()
	}
	return c, nil
}

// retryable reports whether a refusal of the handshake may succeed on
// another transport or a later attempt: a cap or load refusal, or a
// transport that ended without an answer, not an answer about the
// session or the token.
func retryable(ce *netcode.CodedError) bool {
	switch ce.Code {
	case netcode.CodeOK, netcode.CodeTooManySessions, netcode.CodeServerBusy, netcode.CodeRateLimited, netcode.CodeHandshakeTimeout, netcode.CodeIdleTimeout:
		return true
	}
	return false
}

// exchange sends the opening frame (Hello or Resume) on conn and reads
// the answer: Welcome, or the server's refusal as a *netcode.CodedError.
func exchange(ctx context.Context, conn netcode.Conn, open frame.Frame) (frame.Welcome, error) {
	var w frame.Welcome
	stop := context.AfterFunc(ctx, func() { _ = conn.Close(netcode.CodeOK, "dial cancelled") })
	defer stop()
	b, err := frame.Marshal(open)
	if err != nil {
		return w, fmt.Errorf("client: encoding kind %d: %w", open.Kind(), err)
	}
	if err := conn.WriteMessage(netcode.Reliable, b); err != nil {
		return w, fmt.Errorf("client: sending kind %d: %w", open.Kind(), err)
	}
	for {
		ch, b, err := conn.ReadMessage()
		if err == nil && ch == netcode.Unreliable {
			// A resumed session's unreliable frames may overtake its
			// Welcome (KCP): they are dropped, as unreliable frames may be.
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return w, fmt.Errorf("client: waiting for Welcome: %w", ctx.Err())
			}
			var ce *netcode.CloseError
			if errors.As(err, &ce) { // refused at the transport level (e.g. listener full)
				return w, &netcode.CodedError{Code: ce.Code, Msg: ce.Reason, Err: err}
			}
			return w, fmt.Errorf("client: waiting for Welcome: %w", err)
		}
		k, err := frame.Peek(b)
		if err != nil {
			return w, fmt.Errorf("client: waiting for Welcome: %w", err)
		}
		switch k {
		case frame.KindWelcome:
			if err := frame.Unmarshal(b, &w); err != nil {
				return w, fmt.Errorf("client: bad Welcome: %w", err)
			}
			if !stop() { // ctx ended just now and the connection is being closed
				return w, fmt.Errorf("client: waiting for Welcome: %w", ctx.Err())
			}
			return w, nil
		case frame.KindError:
			var e frame.Error
			if err := frame.Unmarshal(b, &e); err != nil {
				return w, fmt.Errorf("client: bad Error frame: %w", err)
			}
			return w, &netcode.CodedError{Code: e.Code, Msg: e.Message}
		case frame.KindClose:
			var cl frame.Close
			if err := frame.Unmarshal(b, &cl); err != nil {
				return w, fmt.Errorf("client: bad Close frame: %w", err)
			}
			return w, &netcode.CodedError{Code: cl.Code, Msg: cl.Reason, Err: &netcode.CloseError{Code: cl.Code, Reason: cl.Reason}}
		default:
			return w, fmt.Errorf("%w: kind %d before Welcome", ErrUnexpectedFrame, k)
		}
	}
}

// Welcome returns the server's latest Welcome (a resume brings a new one,
// with a new resume secret).
func (c *Client) Welcome() frame.Welcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome
}

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

// write sends b; c.wmu is held. With resume on, a numbered frame is
// numbered and kept for a resend first; while the connection is down it
// is only kept (sent on resume), and other frames are dropped. A
// numbered frame whose write fails is not an error: the resume resends
// it.
func (c *Client) write(ch netcode.Channel, b []byte) error {
	select {
	case <-c.done:
		return c.endErr()
	default:
	}
	numbered := false
	if c.resumable && ch == netcode.Reliable {
		if k, err := frame.Peek(b); err == nil && frame.Numbered(k) {
			numbered = true
			c.sent++
			i := (c.sent - 1) % ResendFrames
			c.out[i] = append(c.out[i][:0], b...)
		}
	}
	if c.down {
		return nil
	}
	if err := c.conn.WriteMessage(ch, b); err != nil && !numbered {
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
// messages dropped because Messages() was full. RTT is the session's
// smoothed RTT (RTT), or before the first Pong the transport's estimate
// (netcode.RTTOf).
func (c *Client) Stats() netcode.Stats {
	c.wmu.Lock()
	conn := c.conn
	c.wmu.Unlock()
	s := conn.Stats()
	s.Drops[netcode.DropQueueFull] += c.drops.Load()
	if rtt := c.RTT(); rtt > 0 {
		s.RTT = rtt
	} else if s.RTT == 0 {
		s.RTT = netcode.RTTOf(conn)
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
		close(c.closing) // before wmu: a resume that swaps in a connection after this closes it itself
		c.closeNodes()   // before ours ends: no Handler runs after Close, theirs included
		c.cancel()
		c.wmu.Lock()
		conn := c.conn
		c.wmu.Unlock()
		// Code ok: a goodbye, the server ends the session at once (another
		// code would leave it waiting for a resume).
		_ = conn.Close(netcode.CodeOK, "client closed") // best effort
	})
	c.wg.Wait()
	return nil
}

// readLoop reads until the connection ends.
func (c *Client) readLoop() {
	defer c.wg.Done()
	defer close(c.done)
	defer func() {
		c.fwdMu.Lock()
		c.fwdClosed = true
		close(c.msgs)
		c.fwdMu.Unlock()
	}()
	var pong frame.Pong
	var cl frame.Close
	for {
		ch, b, err := c.conn.ReadMessage()
		if err != nil {
			if c.resume(err) {
				continue
			}
			c.setErr(err)
			return
		}
		now := time.Now()
		k, ref, err := frame.PeekRef(b)
		if err != nil {
			c.log.Warn("bad frame from server", "err", err)
			continue
		}
		if c.resumable && ch == netcode.Reliable && frame.Numbered(k) {
			// Counted as processed before it is handed on: a frame the
			// app is handed is never replayed.
			if n := c.recv.Add(1); n-c.acked.Load() >= AckEvery {
				c.ack(n)
			}
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
			c.serverClosed = true // the session ended: nothing to resume
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
		// Under fwdMu: the Handler is never run by two readers at once
		// (this one and a node session's, redirect.go).
		c.fwdMu.Lock()
		c.deliver(m)
		c.fwdMu.Unlock()
	}
}

// deliver hands a push to the Handler or Messages() (dropped and counted
// when full). Called with fwdMu held.
func (c *Client) deliver(m Message) {
	if c.o.Handler != nil {
		c.o.Handler(m)
		return
	}
	select {
	case c.msgs <- m:
	default:
		c.drops.Add(1)
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
