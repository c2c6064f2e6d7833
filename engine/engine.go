package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/logsum"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Engine accepts sessions from any number of listeners and runs them.
// Lifecycle: New, Serve (any time before Shutdown), Run, Shutdown.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	signer *auth.Signer
	byKind [256]service.Service // the service owning each frame kind
	bufs   sync.Pool            // *[]byte for frames the engine encodes or copies
	c      counters
	http   *httpState // the HTTP API's guest limiter and counters (http.go)
	nextID atomic.Uint64
	closer closer

	draining atomic.Bool // Drain was called (ops.go)
	ops      struct{ kicks, notices atomic.Uint64 }

	baseCtx    context.Context // cancelled when Shutdown finishes
	baseCancel context.CancelFunc

	sessWG   sync.WaitGroup // session readers, writers and finishLoops
	writers  atomic.Int64   // session writer goroutines running (a session on a Queuer has none)
	readers  atomic.Int64   // session reader goroutines running (an open session on a Pusher has none)
	acceptWG sync.WaitGroup // accept loops
	svcWG    sync.WaitGroup // service runners
	closerWG sync.WaitGroup // the closer loop
	sumWG    sync.WaitGroup // the activity summary loop (logsummary.go)
	rttWG    sync.WaitGroup // the RTT sampler (rtt.go)
	rtt      *rttSampler
	parkWG   sync.WaitGroup // parked sessions' expiry timers (resume.go)

	quit         chan struct{} // closed when Shutdown starts
	shutdownDone chan struct{} // closed when Shutdown has finished
	shutdownOnce sync.Once
	svcFailed    chan error // capacity 1: the first service runner error

	mu        sync.Mutex // guards the fields below
	running   bool
	closed    bool
	listeners []netcode.Listener
	sessions  map[uint64]*session
	perIP     map[netip.Addr]int     // open sessions by client address key (ipKey)
	peers     map[uint64]*peer       // sessions as services see them, live or parked, by session id
	parked    parking                // parked peers, for the caps
	gone      map[uint64]goneSession // sessions ended by a replay overflow, for their Resume (resume.go)
	ended     connTotals             // the counters of ended connections, by transport (metrics.go)
	noSess    chan struct{}          // closed when closed and no session is left
	svcCancel context.CancelFunc
}

// New validates cfg, fills its defaults and returns an Engine.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	signer, err := auth.NewSigner(cfg.TokenKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	e := &Engine{
		cfg:          cfg,
		log:          cfg.Logger,
		signer:       signer,
		quit:         make(chan struct{}),
		shutdownDone: make(chan struct{}),
		svcFailed:    make(chan error, 1),
		sessions:     map[uint64]*session{},
		perIP:        map[netip.Addr]int{},
		peers:        map[uint64]*peer{},
		gone:         map[uint64]goneSession{},
		parked:       parking{byIP: map[netip.Addr]int{}, byUser: map[string]int{}},
		noSess:       make(chan struct{}),
		rtt:          newRTTSampler(),
		closer:       closer{wake: make(chan struct{}, 1), stop: make(chan struct{})},
	}
	if e.http, err = newHTTPState(cfg); err != nil {
		return nil, err
	}
	e.baseCtx, e.baseCancel = context.WithCancel(context.Background())
	bufCap := min(cfg.MaxFrameSize, 1024)
	e.bufs.New = func() any {
		b := make([]byte, 0, bufCap)
		return &b
	}
	for _, s := range cfg.Services {
		for k := range e.byKind {
			if s.Handles(frame.Kind(k)) {
				e.byKind[k] = s
			}
		}
	}
	return e, nil
}

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Signer returns the signer the engine verifies tokens with, so that other
// components (the accounts service, tests) issue tokens it accepts.
func (e *Engine) Signer() *auth.Signer { return e.signer }

// Stats returns a snapshot of the engine's counters.
func (e *Engine) Stats() Stats {
	st := e.c.snapshot()
	ft := e.frameTotals()
	for _, c := range ft {
		st.FramesIn += c.FramesIn
		st.FramesOut += c.FramesOut
		st.BytesIn += c.BytesIn
		st.BytesOut += c.BytesOut
	}
	st.HTTP = e.http.snapshot()
	st.Resume = e.resumeStats()
	st.Ops = e.opsStats()
	return st
}

// Serve makes the engine accept sessions from l. Before Run the listener
// waits for Run; after Shutdown l is closed and ErrServerClosed returned.
// The engine closes l on Shutdown.
func (e *Engine) Serve(l netcode.Listener) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = l.Close() // the engine owns l; ErrServerClosed is the answer
		return ErrServerClosed
	}
	e.listeners = append(e.listeners, l)
	if e.running {
		e.startAccept(l)
	}
	return nil
}

// startAccept starts l's accept loop; e.mu is held.
func (e *Engine) startAccept(l netcode.Listener) {
	e.acceptWG.Add(1)
	go e.acceptLoop(l)
}

// Run starts accepting on every listener given to Serve and runs the
// services' background work. It blocks until ctx is cancelled (then it
// shuts the engine down, within Config.ShutdownTimeout), Shutdown is
// called, or a service runner fails (then it shuts down and returns that
// error). It returns ErrServerClosed after a shutdown.
func (e *Engine) Run(ctx context.Context) error {
	// The activity line counts what happens from Run on: its baseline is
	// taken here, before any session can be accepted, not when its
	// goroutine first runs (a handshake in between would be lost).
	sum := &logsum.Summary{}
	if e.cfg.LogSummaryInterval > 0 {
		sum.Delta(activity(e.ServiceStats()))
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrServerClosed
	}
	if e.running {
		e.mu.Unlock()
		return errors.New("engine: Run called twice")
	}
	e.running = true
	e.closerWG.Add(1)
	go e.closer.run(&e.closerWG)
	if e.cfg.LogSummaryInterval > 0 {
		e.sumWG.Add(1)
		go e.logSummaries(sum)
	}
	if e.cfg.RTTSampleInterval > 0 {
		e.rttWG.Add(1)
		go e.sampleRTTs()
	}
	svcCtx, cancel := context.WithCancel(context.Background())
	e.svcCancel = cancel
	for _, s := range e.cfg.Services {
		r, ok := s.(service.Runner)
		if !ok {
			continue
		}
		e.svcWG.Add(1)
		go func(name string) {
			defer e.svcWG.Done()
			if err := r.Run(svcCtx); err != nil && svcCtx.Err() == nil {
				select {
				case e.svcFailed <- fmt.Errorf("engine: service %s: %w", name, err):
				default:
				}
			}
		}(s.Name())
	}
	for _, l := range e.listeners {
		e.startAccept(l)
	}
	nl := len(e.listeners)
	e.mu.Unlock()

	e.log.Info("engine running", "listeners", nl, "services", len(e.cfg.Services))
	shutdown := func() error {
		sctx, scancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
		defer scancel()
		return e.Shutdown(sctx)
	}
	select {
	case <-ctx.Done():
		if err := shutdown(); err != nil {
			e.log.Warn("shutdown did not finish cleanly", "err", err)
		}
	case <-e.quit:
		<-e.shutdownDone
	case err := <-e.svcFailed:
		e.log.Error("service failed; shutting down", "err", err)
		if serr := shutdown(); serr != nil {
			e.log.Warn("shutdown did not finish cleanly", "err", serr)
		}
		return err
	}
	return ErrServerClosed
}

// Shutdown stops accepting, closes every session with CodeServerShutdown
// (queued frames are flushed, then a Close frame is sent, then the
// transport is closed), waits for the sessions' goroutines until ctx is
// done (then closes the remaining connections at once), and stops the
// services. It is idempotent: later calls wait for the first one.
func (e *Engine) Shutdown(ctx context.Context) error {
	first := false
	e.shutdownOnce.Do(func() { first = true })
	if !first {
		select {
		case <-e.shutdownDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.mu.Lock()
	e.closed = true
	close(e.quit)
	listeners := e.listeners
	e.listeners = nil
	sessions := make([]*session, 0, len(e.sessions))
	for _, s := range e.sessions {
		sessions = append(sessions, s)
	}
	if len(e.sessions) == 0 {
		close(e.noSess)
	}
	svcCancel := e.svcCancel
	e.mu.Unlock()

	e.log.Info("engine shutting down", "sessions", len(sessions))
	for _, l := range listeners {
		_ = l.Close() // idempotent; an error here changes nothing
	}
	code, reason := netcode.CodeServerShutdown, "server shutting down"
	if e.draining.Load() {
		code, reason = netcode.CodeDraining, "server drained: reconnect elsewhere"
	}
	for _, s := range sessions {
		s.close(code, reason, closeGraceful)
	}
	var err error
	select {
	case <-e.noSess:
	case <-ctx.Done():
		err = ctx.Err()
		for _, s := range sessions {
			s.forceClose()
		}
		<-e.noSess
	}
	e.sessWG.Wait()
	e.endParked()
	e.acceptWG.Wait()
	close(e.closer.stop)
	e.closerWG.Wait()
	e.sumWG.Wait()
	e.rttWG.Wait()
	if svcCancel != nil {
		svcCancel()
	}
	e.svcWG.Wait()
	e.baseCancel()
	close(e.shutdownDone)
	return err
}

// acceptLoop accepts connections from l until it is closed.
func (e *Engine) acceptLoop(l netcode.Listener) {
	defer e.acceptWG.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Accept()
		if err != nil {
			select {
			case <-e.quit:
				return
			default:
			}
			if errors.Is(err, netcode.ErrClosed) {
				return
			}
			e.log.Warn("accept failed", "addr", l.Addr().String(), "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-e.quit:
				t.Stop()
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		e.startSession(c)
	}
}

func (e *Engine) startSession(c netcode.Conn) {
	ip, hasIP := ipKey(c.RemoteAddr())
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		_ = c.Close(netcode.CodeServerShutdown, "server shutting down") // best effort: refused, no session to report to
		return
	}
	if e.draining.Load() {
		e.mu.Unlock()
		e.c.refused[refusedDraining].Add(1)
		e.warnRefused(c, refusedNames[refusedDraining])
		_ = c.Close(netcode.CodeDraining, "the server is draining: reconnect elsewhere") // best effort, as below
		return
	}
	if refused, reason := e.capLocked(ip, hasIP); refused >= 0 {
		e.mu.Unlock()
		e.c.refused[refused].Add(1)
		e.warnRefused(c, refusedNames[refused])
		// A fresh connection has nothing queued: Close sends its code at
		// once (KCP: a datagram; TCP: a record into an empty socket
		// buffer), so the accept loop does not wait on the peer.
		_ = c.Close(netcode.CodeTooManySessions, reason)
		return
	}
	s := newSession(e, c, e.nextID.Add(1))
	s.ip, s.hasIP = ip, hasIP
	e.sessions[s.id] = s
	if hasIP {
		e.perIP[ip]++
	}
	writer := s.wake != nil // a session on a Queuer has none (see session)
	e.sessWG.Add(1)
	if writer {
		e.sessWG.Add(1)
	}
	e.mu.Unlock()
	e.c.sessionsOpen.Add(1)
	e.c.sessionsTotal.Add(1)
	if writer {
		go s.writeLoop()
	}
	go s.readLoop()
}

// capLocked reports which session cap a new session from ip would exceed
// (refusedGlobal, refusedPerIP; -1 for none) and the reason sent with
// CodeTooManySessions. Called with e.mu held.
func (e *Engine) capLocked(ip netip.Addr, hasIP bool) (refused int, reason string) {
	switch {
	case e.cfg.MaxSessions > 0 && len(e.sessions) >= e.cfg.MaxSessions:
		return refusedGlobal, "too many sessions on the server"
	case hasIP && e.cfg.MaxSessionsPerIP > 0 && e.perIP[ip] >= e.cfg.MaxSessionsPerIP:
		return refusedPerIP, "too many sessions from your address"
	}
	return -1, ""
}

// removeSession is the last step of a session's teardown.
func (e *Engine) removeSession(s *session) {
	s.log.Debug("session closed", "code", s.closeCode.String(), "reason", s.closeReason)
	final := s.conn.Stats() // the connection is closed: its counters are final
	e.mu.Lock()
	delete(e.sessions, s.id)
	e.ended.add(s.conn.Transport(), final)
	e.ended[s.conn.Transport()].frames.add(s.chc.snapshot())
	if s.hasIP {
		if e.perIP[s.ip]--; e.perIP[s.ip] <= 0 {
			delete(e.perIP, s.ip)
		}
	}
	if e.closed && len(e.sessions) == 0 {
		close(e.noSess)
	}
	e.mu.Unlock()
	// Counted last: once SessionsOpen shows the session gone, its place
	// under MaxSessions and MaxSessionsPerIP is free.
	e.c.sessionsOpen.Add(-1)
}

// ipKey is the key MaxSessionsPerIP counts addr under: its IPv4 address
// (an IPv4-mapped IPv6 address counts as IPv4), or the /64 prefix of its
// IPv6 address, which one subscriber usually holds whole. ok is false for
// an address that carries no IP (an in-memory link).
func ipKey(addr net.Addr) (key netip.Addr, ok bool) {
	ip, ok := netcode.AddrIP(addr)
	if ok && ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().Addr(), true
	}
	return ip, ok
}

// warnRefused logs a refused connection at Debug: a flood of refusals
// must not become a flood of log lines above Debug (the counters have
// every one, and the activity line sums them up).
func (e *Engine) warnRefused(c netcode.Conn, reason string) {
	e.log.Debug("connection refused", "reason", reason, "transport", c.Transport(), "remote", c.RemoteAddr().String())
}

// getBuf returns a pooled buffer of length n.
func (e *Engine) getBuf(n int) *[]byte {
	p := e.bufs.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, n)
	}
	*p = (*p)[:n]
	return p
}

// putBuf returns a buffer from getBuf to the pool (nil is ignored).
func (e *Engine) putBuf(p *[]byte) {
	if p != nil {
		e.bufs.Put(p)
	}
}

// closer closes connections on behalf of goroutines that must not block on
// a socket (a service calling Peer.Send that overflowed a slow consumer's
// queue). One goroutine, owned by the engine, runs from Run until every
// session has ended.
type closer struct {
	mu      sync.Mutex // guards pending
	pending []*session
	wake    chan struct{} // capacity 1
	stop    chan struct{}
}

// add schedules s's connection to be closed with its close code. It never
// blocks. A session is added only by a Send that found its reliable queue
// full before the queue was closed, so pending stays bounded by a few
// entries per session.
func (c *closer) add(s *session) {
	c.mu.Lock()
	c.pending = append(c.pending, s)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *closer) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			c.closeAll()
			return
		}
		c.closeAll()
	}
}

func (c *closer) closeAll() {
	c.mu.Lock()
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, s := range batch {
		_ = s.conn.Close(s.closeCode, s.closeReason) // best effort: the peer is not reading
	}
}
