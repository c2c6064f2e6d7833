package longpoll

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

var (
	_ netcode.Listener              = (*Listener)(nil)
	_ netcode.ListenerStatsReporter = (*Listener)(nil)
	_ netcode.Shutdowner            = (*Listener)(nil)
)

// Prefix is the path under which the transport mounts its routes.
const Prefix = "/v1/lp/"

// Routes, relative to the HTTP server's root.
const (
	routeOpen   = "POST " + Prefix + "open"
	routeSend   = "POST " + Prefix + "{id}/send"
	routeRecv   = "GET " + Prefix + "{id}/recv"
	routeDelete = "DELETE " + Prefix + "{id}"
)

// Listener serves the long-poll routes and hands every opened session to
// Accept as a netcode.Conn.
type Listener struct {
	cfg Config
	env netcode.Env
	log *slog.Logger

	backlog chan *session // opened, waiting for Accept
	done    chan struct{} // closed by Close: no more opens or accepts
	quit    chan struct{} // closed by Shutdown: the janitor and held recvs end
	wg      sync.WaitGroup
	tick    time.Duration // the janitor's period

	closeOnce, quitOnce sync.Once

	mu       sync.Mutex          // guards the fields below; taken before any session's pipe.mu
	closed   bool                // set by Close
	sessions map[string]*session // open and lingering sessions by id
	perIP    map[netip.Addr]int  // pending (not yet accepted) sessions by address

	stats listenerCounters
}

// listenerCounters is what ListenerStats reports.
type listenerCounters struct {
	opens, accepted atomic.Uint64
	idle, slow      atomic.Uint64 // sessions closed for idleness, as slow consumers
	busy            atomic.Uint64 // send batches refused for a full received queue

	mu      sync.Mutex // guards the maps
	refused map[string]uint64
	drops   map[string]uint64
}

func (c *listenerCounters) refuse(reason string) {
	c.mu.Lock()
	c.refused[reason]++
	c.mu.Unlock()
}

func (c *listenerCounters) drop(r netcode.DropReason) {
	c.mu.Lock()
	c.drops[r.String()]++
	c.mu.Unlock()
}

// Listen mounts the routes on mux and returns the Listener; env supplies
// VerifyToken, Admit and ClientAddr (nil ones accept everyone, as in
// tests). Listen may be called once per mux.
func Listen(mux netcode.Mux, env netcode.Env, cfg Config) (*Listener, error) {
	if mux == nil {
		return nil, netcode.ErrNoHTTP
	}
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	l := &Listener{
		cfg:      cfg,
		env:      env,
		log:      cfg.Logger,
		backlog:  make(chan *session, cfg.Backlog),
		done:     make(chan struct{}),
		quit:     make(chan struct{}),
		tick:     min(max(min(cfg.IdleTimeout, cfg.CloseLinger)/8, 5*time.Millisecond), 250*time.Millisecond),
		sessions: make(map[string]*session),
		perIP:    make(map[netip.Addr]int),
		stats:    listenerCounters{refused: map[string]uint64{}, drops: map[string]uint64{}},
	}
	mux.Handle(routeOpen, http.HandlerFunc(l.handleOpen))
	mux.Handle(routeSend, http.HandlerFunc(l.handleSend))
	mux.Handle(routeRecv, http.HandlerFunc(l.handleRecv))
	mux.Handle(routeDelete, http.HandlerFunc(l.handleDelete))
	l.wg.Add(1)
	go l.janitor()
	return l, nil
}

// Accept returns the next opened session. After Close it returns
// netcode.ErrClosed.
func (l *Listener) Accept() (netcode.Conn, error) {
	select {
	case s := <-l.backlog:
		l.mu.Lock()
		l.unpendLocked(s)
		l.mu.Unlock()
		l.stats.accepted.Add(1)
		return s, nil
	case <-l.done:
		return nil, netcode.ErrClosed
	}
}

// unpendLocked takes s off its address's pending count. The caller holds l.mu.
func (l *Listener) unpendLocked(s *session) {
	if !s.pending {
		return
	}
	s.pending = false
	if l.perIP[s.ip]--; l.perIP[s.ip] <= 0 {
		delete(l.perIP, s.ip)
	}
}

// remove forgets s.
func (l *Listener) remove(s *session) {
	l.mu.Lock()
	if l.sessions[s.id] == s {
		delete(l.sessions, s.id)
	}
	l.unpendLocked(s)
	l.mu.Unlock()
}

// Close refuses new sessions and closes those not yet accepted (with
// server_shutdown); accepted sessions stay open. Idempotent.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.done)
		for {
			select {
			case s := <-l.backlog:
				s.closeServer(netcode.ErrClosed, localClose, netcode.CodeServerShutdown, "server shutting down")
				l.unpendLocked(s) // it lingers for its close record
				continue
			default:
			}
			break
		}
		l.mu.Unlock()
	})
	return nil
}

// Shutdown closes the listener and every session left (lingering close
// records included), wakes held recv requests and waits for the janitor,
// bounded by ctx.
func (l *Listener) Shutdown(ctx context.Context) error {
	if err := l.Close(); err != nil {
		return err
	}
	l.mu.Lock()
	left := make([]*session, 0, len(l.sessions))
	for _, s := range l.sessions {
		left = append(left, s)
	}
	clear(l.sessions)
	clear(l.perIP)
	l.mu.Unlock()
	for _, s := range left {
		s.closeServer(netcode.ErrClosed, localClose, netcode.CodeServerShutdown, "server shutting down")
	}
	l.quitOnce.Do(func() { close(l.quit) })
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Addr is the routes' prefix (the HTTP server has the socket).
func (l *Listener) Addr() net.Addr { return lpAddr{} }

type lpAddr struct{}

func (lpAddr) Network() string { return "http" }
func (lpAddr) String() string  { return Prefix }

// ListenerStats implements netcode.ListenerStatsReporter: opens begun,
// sessions handed to Accept, opens refused by reason (the code's name for
// a token or the engine's caps; "max_sessions", "per_ip", "backlog",
// "closed" for the listener's own), and requests dropped at the door
// ("unauthenticated": unknown session or wrong secret; "malformed",
// "too_large": bad batches, which also close their session), plus
// "idle_timeout", "slow_consumer" and "server_busy" under Refused for
// sessions closed or batches refused later.
func (l *Listener) ListenerStats() netcode.ListenerStats {
	l.mu.Lock()
	n := len(l.sessions)
	l.mu.Unlock()
	l.stats.mu.Lock()
	refused := maps.Clone(l.stats.refused)
	drops := maps.Clone(l.stats.drops)
	l.stats.mu.Unlock()
	for name, c := range map[string]*atomic.Uint64{
		netcode.CodeIdleTimeout.String():  &l.stats.idle,
		netcode.CodeSlowConsumer.String(): &l.stats.slow,
		netcode.CodeServerBusy.String():   &l.stats.busy,
	} {
		if v := c.Load(); v > 0 {
			refused[name] = v
		}
	}
	return netcode.ListenerStats{
		Transport:         transportName,
		Addr:              Prefix,
		Sessions:          n,
		HandshakesStarted: l.stats.opens.Load(),
		Accepted:          l.stats.accepted.Load(),
		Refused:           refused,
		Drops:             drops,
	}
}

// janitor closes idle sessions and forgets closed ones whose close record
// lingered long enough. It is the listener's one goroutine; Shutdown ends
// it.
func (l *Listener) janitor() {
	defer l.wg.Done()
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case now := <-t.C:
			l.sweep(now)
		}
	}
}

// sweep removes every session expired at now.
func (l *Listener) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, s := range l.sessions {
		if s.expired(now) {
			delete(l.sessions, id)
			l.unpendLocked(s)
		}
	}
}

// OpenResponse is the JSON body that answers POST /v1/lp/open.
type OpenResponse struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	// The server's limits; a client keeps within them.
	MaxWaitMS        int64 `json:"max_wait_ms"`
	IdleTimeoutMS    int64 `json:"idle_timeout_ms"`
	HeartbeatMS      int64 `json:"heartbeat_interval_ms"`
	MaxMessageSize   int   `json:"max_message_size"`
	MaxBatchFrames   int   `json:"max_batch_frames"`
	MaxBatchBytes    int   `json:"max_batch_bytes"`
	MaxUnackedFrames int   `json:"max_unacked_frames"`
	MaxUnackedBytes  int   `json:"max_unacked_bytes"`
}

// ErrorResponse is the JSON body of every refusal: the HTTP API's one
// error body.
type ErrorResponse = httpapi.ErrorResponse

func (l *Listener) handleOpen(w http.ResponseWriter, r *http.Request) {
	l.stats.opens.Add(1)
	tok, ok := httpapi.BearerToken(r)
	if !ok {
		// As on every HTTP endpoint: no token is not_authenticated, a
		// token refused is bad_token (or expired, revoked).
		l.refuse(w, r, netcode.CodeNotAuthenticated.String(), netcode.Errorf(netcode.CodeNotAuthenticated, "Authorization: Bearer <token> required"))
		return
	}
	if l.env.VerifyToken != nil {
		if err := l.env.VerifyToken(r.Context(), tok); err != nil {
			l.refuse(w, r, netcode.CodeOf(err).String(), err)
			return
		}
	}
	addr := l.env.RemoteAddr(r)
	if l.env.Admit != nil {
		if err := l.env.Admit(addr); err != nil {
			l.refuse(w, r, netcode.CodeOf(err).String(), err)
			return
		}
	}
	now := time.Now()
	s := &session{
		pipe:   newPipe(l.cfg),
		l:      l,
		id:     randomID(16),
		secret: []byte(randomID(32)),
		remote: addr,
	}
	s.ip, _ = netcode.AddrIP(addr) // the zero Addr: one key for all without an IP
	s.lastSeen = now
	l.mu.Lock()
	var reason string
	var ce *netcode.CodedError
	switch {
	case l.closed:
		reason, ce = "closed", netcode.Errorf(netcode.CodeServerShutdown, "server shutting down")
	case len(l.sessions) >= l.cfg.MaxSessions:
		reason, ce = "max_sessions", netcode.Errorf(netcode.CodeTooManySessions, "too many long-poll sessions on the server")
	case l.perIP[s.ip] >= l.cfg.MaxPendingPerIP:
		reason, ce = "per_ip", netcode.Errorf(netcode.CodeTooManySessions, "too many sessions opening from your address")
	default:
		select {
		case l.backlog <- s:
			l.sessions[s.id] = s
			l.perIP[s.ip]++
			s.pending = true
		default:
			reason, ce = "backlog", netcode.Errorf(netcode.CodeServerBusy, "too many sessions opening: retry later")
		}
	}
	l.mu.Unlock()
	if ce != nil {
		l.refuse(w, r, reason, ce)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, OpenResponse{
		ID: s.id, Secret: string(s.secret),
		MaxWaitMS: l.cfg.MaxWait.Milliseconds(), IdleTimeoutMS: l.cfg.IdleTimeout.Milliseconds(),
		HeartbeatMS: l.cfg.HeartbeatInterval.Milliseconds(), MaxMessageSize: l.cfg.MaxMessageSize,
		MaxBatchFrames: l.cfg.MaxBatchFrames, MaxBatchBytes: l.cfg.MaxBatchBytes,
		MaxUnackedFrames: l.cfg.MaxUnackedFrames, MaxUnackedBytes: l.cfg.MaxUnackedBytes,
	})
}

// refuse counts an open refused for reason and answers err.
func (l *Listener) refuse(w http.ResponseWriter, r *http.Request, reason string, err error) {
	l.stats.refuse(reason)
	httpapi.WriteError(w, r, err)
}

// authorize finds the session of a request by its id and secret; a
// stranger gets not_found whether the id exists or not.
func (l *Listener) authorize(w http.ResponseWriter, r *http.Request) *session {
	sec, _ := httpapi.BearerToken(r)
	l.mu.Lock()
	s := l.sessions[r.PathValue("id")]
	l.mu.Unlock()
	if s == nil || subtle.ConstantTimeCompare(s.secret, []byte(sec)) != 1 {
		l.stats.drop(netcode.DropUnauthenticated)
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeNotFound, "no such session"))
		return nil
	}
	return s
}

// protocolError closes s for err (a bad batch, sequence or ack) and
// answers the request with its code: bad_request here is a sequence
// conflict (a gap, an ack of a frame never sent), which PROTOCOL.md §2.5
// answers 409; other codes get httpapi's status.
func (l *Listener) protocolError(w http.ResponseWriter, r *http.Request, s *session, err error) {
	code := netcode.CodeOf(err)
	switch code {
	case netcode.CodeFrameTooLarge:
		l.stats.drop(netcode.DropTooLarge)
	default:
		l.stats.drop(netcode.DropMalformed)
	}
	s.fail(err)
	status := httpapi.Status(code)
	if code == netcode.CodeBadRequest {
		status = http.StatusConflict
	}
	httpapi.WriteErrorStatus(w, r, status, err)
}

// writeGone answers a request on a closed session: 410 Gone with the
// code the session closed with (goneLocked).
func writeGone(w http.ResponseWriter, r *http.Request, ce *netcode.CodedError) {
	httpapi.WriteErrorStatus(w, r, http.StatusGone, ce)
}

func (l *Listener) handleSend(w http.ResponseWriter, r *http.Request) {
	s := l.authorize(w, r)
	if s == nil {
		return
	}
	s.begin(time.Now(), httpapi.Conn(r))
	defer func() { s.end(time.Now()) }()
	max := int64(l.cfg.MaxBatchBytes)
	if r.ContentLength > max {
		l.protocolError(w, r, s, netcode.Errorf(netcode.CodeFrameTooLarge, "batch of %d bytes, limit %d", r.ContentLength, max))
		return
	}
	body, err := readBody(r.Body, r.ContentLength, max)
	if err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			l.protocolError(w, r, s, netcode.Errorf(netcode.CodeFrameTooLarge, "batch above %d bytes", max))
			return
		}
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadRequest, "reading the batch: %v", err))
		return
	}
	ack, recs, err := decodeBatch(body, batchLimits{maxFrames: l.cfg.MaxBatchFrames, maxMessage: l.cfg.MaxMessageSize}, nil)
	if err != nil {
		l.protocolError(w, r, s, err)
		return
	}
	s.mu.Lock()
	if s.closed {
		ce := s.goneLocked()
		s.mu.Unlock()
		writeGone(w, r, ce)
		return
	}
	if err := s.ackLocked(ack); err != nil {
		s.mu.Unlock()
		l.protocolError(w, r, s, err)
		return
	}
	fresh, err := s.in.fresh(recs)
	if err != nil {
		s.mu.Unlock()
		l.protocolError(w, r, s, err)
		return
	}
	if frames, n := dataBytes(fresh); !s.inqFits(frames, n) {
		s.mu.Unlock()
		l.stats.busy.Add(1)
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeServerBusy, "the session's received frames are not read yet: retry"))
		return
	}
	ce := s.deliverLocked(fresh)
	if ce != nil {
		s.closeLocked(ce, peerClose)
	}
	ourAck := s.in.ack()
	s.mu.Unlock()
	if ce != nil {
		l.remove(s)
	}
	s.ctr.BytesRecv.Add(batchHeaderSize)
	if err := writeBatch(w, appendBatchHeader(make([]byte, 0, batchHeaderSize), ourAck)); err == nil {
		s.ctr.BytesSent.Add(batchHeaderSize)
	}
}

// ackLocked applies the client's ack of server frames; freeing room wakes
// writers. An ack of a frame never sent is a protocol error. The caller
// holds s.mu.
func (s *session) ackLocked(ack uint32) error {
	freed, err := s.out.ack(ack)
	if err != nil {
		return &netcode.CodedError{Code: netcode.CodeBadRequest, Err: err,
			Msg: "longpoll: ack " + strconv.FormatUint(uint64(ack), 10) + " above the last frame sent " + strconv.FormatUint(uint64(s.out.lastSent()), 10)}
	}
	if freed > 0 {
		broadcast(&s.space)
	}
	return nil
}

// goneLocked is the answer to a request on a closed session: the code it
// closed with. The caller holds s.mu.
func (s *session) goneLocked() *netcode.CodedError {
	if s.lingers {
		return &netcode.CodedError{Code: s.closeCode, Msg: "session closed: " + s.closeReason}
	}
	var ce *netcode.CloseError
	if errors.As(s.cause, &ce) {
		return &netcode.CodedError{Code: ce.Code, Msg: "session closed: " + ce.Reason}
	}
	return &netcode.CodedError{Code: netcode.CodeOf(s.cause), Msg: "session closed"}
}

func (l *Listener) handleRecv(w http.ResponseWriter, r *http.Request) {
	s := l.authorize(w, r)
	if s == nil {
		return
	}
	q := r.URL.Query()
	ack, err := parseUint(q.Get("ack"), 32)
	if err != nil {
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadRequest, "ack must be a uint32"))
		return
	}
	waitMS, err := parseUint(q.Get("wait"), 32)
	if err != nil {
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadRequest, "wait must be milliseconds"))
		return
	}
	wait := min(time.Duration(waitMS)*time.Millisecond, l.cfg.MaxWait)
	s.begin(time.Now(), httpapi.Conn(r))
	defer func() { s.end(time.Now()) }()

	s.mu.Lock()
	if err := s.ackLocked(uint32(ack)); err != nil {
		s.mu.Unlock()
		l.protocolError(w, r, s, err)
		return
	}
	s.recvGen++
	gen := s.recvGen
	broadcast(&s.changed) // an older recv still held gives way
	var timer *time.Timer
	expired := wait == 0
	for !s.out.hasAfter(uint32(ack)) && !expired && s.recvGen == gen && (!s.closed || s.lingers) {
		ch := s.changed
		s.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			expired = true
		case <-l.quit:
			expired = true
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
	}
	if s.closed && !s.lingers && !s.out.hasAfter(uint32(ack)) {
		ce := s.goneLocked()
		s.mu.Unlock()
		writeGone(w, r, ce)
		return
	}
	var body []byte
	closing := false
	if s.recvGen == gen {
		body, _, closing = s.out.batch(s.in.ack(), uint32(ack), l.cfg.MaxBatchFrames, l.cfg.MaxBatchBytes)
	} else { // replaced by a newer recv: answer as if the wait had passed
		body = appendBatchHeader(nil, s.in.ack())
	}
	s.mu.Unlock()
	if err := writeBatch(w, body); err != nil {
		return // the client asks again with its old ack
	}
	s.ctr.BytesSent.Add(uint64(len(body)))
	if closing {
		l.remove(s) // the close record reached the client's socket
	}
}

func (l *Listener) handleDelete(w http.ResponseWriter, r *http.Request) {
	s := l.authorize(w, r)
	if s == nil {
		return
	}
	q := r.URL.Query()
	code, err := parseUint(q.Get("code"), 16)
	if err != nil {
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadRequest, "code must be a uint16"))
		return
	}
	reason := q.Get("reason")
	if len(reason) > maxReasonLen {
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadRequest, "reason above %d bytes", maxReasonLen))
		return
	}
	s.mu.Lock()
	s.closeLocked(&netcode.CloseError{Code: netcode.Code(code), Reason: reason}, peerClose)
	s.mu.Unlock()
	l.remove(s)
	w.WriteHeader(http.StatusNoContent)
}

// readBody reads at most max bytes of a request body, allocating no more
// than the body holds.
func readBody(body io.Reader, contentLength, max int64) ([]byte, error) {
	lr := &io.LimitedReader{R: body, N: max + 1}
	var buf []byte
	if contentLength >= 0 {
		buf = make([]byte, 0, contentLength+1) // +1 to see the end without growing
	}
	buf, err := readAllInto(buf, lr)
	if err != nil {
		return nil, err
	}
	if int64(len(buf)) > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	return buf, nil
}

func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return b, nil
			}
			return b, err
		}
	}
}

func parseUint(s string, bits int) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, bits)
}

// randomID is n random bytes, base64url without padding.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeBatch answers with a batch and flushes it through any buffering.
func writeBatch(w http.ResponseWriter, b []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b); err != nil {
		return err
	}
	return http.NewResponseController(w).Flush()
}
