package ws

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

var (
	_ netcode.Listener              = (*Listener)(nil)
	_ netcode.ListenerStatsReporter = (*Listener)(nil)
	_ http.Handler                  = (*Listener)(nil)
)

// Subprotocol is the WebSocket subprotocol the server selects when a
// client offers it (a browser that offers any subprotocol needs one
// selected). Clients need not offer it.
const Subprotocol = "tickwire.v1"

// BearerProtocolPrefix starts a subprotocol that carries a bearer token
// for the check before the upgrade, for browsers, which cannot set an
// Authorization header: new WebSocket(url, ["tickwire.v1",
// "tickwire.bearer." + token]). It is never selected.
const BearerProtocolPrefix = "tickwire.bearer."

// Refusal reasons, as ListenerStats.Refused names them.
const (
	refusedClosed       = iota // the listener is closed
	refusedNotWebSocket        // not a WebSocket upgrade request
	refusedOrigin              // Origin not allowed
	refusedToken               // bearer token missing (RequireToken) or refused
	refusedSessions            // the engine's session caps (netcode.Env.Admit)
	refusedPending             // MaxPending connections wait for their first message
	refusedBacklog             // AcceptBacklog connections wait for Accept
	refusedUpgrade             // the upgrade itself failed (bad key, no hijack)
	numRefusals
)

var refusalNames = [numRefusals]string{"closed", "not_websocket", "origin", "token", "sessions", "pending", "backlog", "upgrade"}

// listenerCounters are shared by a Listener and its Conns.
type listenerCounters struct {
	open    atomic.Int64 // Conns upgraded and not yet closed
	pending atomic.Int64 // places taken by upgrades whose first message has not arrived
	drops   [netcode.NumDropReasons]atomic.Uint64
}

// Listener accepts WebSocket connections upgraded by its ServeHTTP, which
// the caller mounts on an HTTP server (Transport.Listen mounts it on the
// assembly's). It is safe for concurrent use.
type Listener struct {
	cfg     Config
	env     netcode.Env
	addr    wsAddr
	origins *httpapi.OriginPolicy // env.AllowedOrigins and cfg.AllowedOrigins

	lc    listenerCounters
	queue chan *Conn // upgraded, waiting for Accept; bounded by AcceptBacklog
	done  chan struct{}

	mu     sync.Mutex // guards closed and every send on queue
	closed bool

	started, accepted atomic.Uint64
	refused           [numRefusals]atomic.Uint64
}

// NewListener returns a Listener that upgrades the requests given to its
// ServeHTTP. path is what Addr reports (where the caller mounts it). env
// supplies the client address rule, the token check and the session caps
// (zero fields: the request's peer address, no check, no cap) and the
// assembly's origin patterns, to which cfg.AllowedOrigins adds; its
// HTTP, timeouts and frame limit are not used here (Transport.Listen
// applies them).
func NewListener(path string, env netcode.Env, cfg Config) (*Listener, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	origins, err := httpapi.NewOriginPolicy(slices.Concat(env.AllowedOrigins, cfg.AllowedOrigins))
	if err != nil {
		return nil, fmt.Errorf("%w: netcode.Env.AllowedOrigins: %w", ErrBadConfig, err)
	}
	return &Listener{
		cfg:     cfg,
		env:     env,
		addr:    wsAddr(path),
		origins: origins,
		queue:   make(chan *Conn, cfg.AcceptBacklog),
		done:    make(chan struct{}),
	}, nil
}

// ServeHTTP refuses or upgrades one request. Every check runs before the
// upgrade allocates a connection, cheapest first: listener closed (503
// server_shutdown), not a WebSocket upgrade (426 bad_request), Origin not
// allowed (403 forbidden), the engine's session caps (503
// too_many_sessions), a bearer token refused or, with RequireToken,
// missing (401 with its code), MaxPending or AcceptBacklog reached (503
// server_busy). Each refusal is an httpapi error (a 503 with Retry-After:
// 1) and a counter in ListenerStats.Refused.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.isClosed() {
		l.refuse(w, r, refusedClosed, netcode.Errorf(netcode.CodeServerShutdown, "the server is shutting down"))
		return
	}
	if msg := upgradeProblem(r); msg != "" {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		l.refused[refusedNotWebSocket].Add(1)
		httpapi.WriteErrorStatus(w, r, http.StatusUpgradeRequired, netcode.Errorf(netcode.CodeBadRequest, "%s", msg))
		return
	}
	if !l.origins.Allows(r) {
		l.refuse(w, r, refusedOrigin, netcode.Errorf(netcode.CodeForbidden, "origin not allowed"))
		return
	}
	addr := l.env.RemoteAddr(r)
	if l.env.Admit != nil {
		if err := l.env.Admit(addr); err != nil {
			l.refuse(w, r, refusedSessions, err)
			return
		}
	}
	switch tok, present := bearerToken(r); {
	case present && len(tok) > MaxTokenSize:
		l.refuse(w, r, refusedToken, netcode.Errorf(netcode.CodeBadToken, "token too long"))
		return
	case present && tok == "":
		l.refuse(w, r, refusedToken, netcode.Errorf(netcode.CodeBadToken, "malformed bearer token"))
		return
	case present && l.env.VerifyToken != nil:
		if err := l.env.VerifyToken(r.Context(), tok); err != nil {
			l.refuse(w, r, refusedToken, err) // an internal error is logged by httpapi
			return
		}
	case !present && l.cfg.RequireToken:
		l.refuse(w, r, refusedToken, netcode.Errorf(netcode.CodeNotAuthenticated, "a bearer token is required"))
		return
	}
	if !l.reservePending() {
		l.refuse(w, r, refusedPending, netcode.Errorf(netcode.CodeServerBusy, "too many connections waiting for their first message"))
		return
	}
	if len(l.queue) >= cap(l.queue) {
		l.lc.pending.Add(-1)
		l.refuse(w, r, refusedBacklog, netcode.Errorf(netcode.CodeServerBusy, "too many connections waiting to be accepted"))
		return
	}

	c := newConn(nil, addr, l.cfg, &l.lc)
	hc := &hijackCapture{ResponseWriter: w}
	wc, err := websocket.Accept(hc, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the origin policy has checked
		Subprotocols:       []string{Subprotocol},
		CompressionMode:    websocket.CompressionDisabled,
		OnPingReceived:     func(_ context.Context, _ []byte) bool { c.onControl(); return true },
		OnPongReceived:     func(_ context.Context, _ []byte) { c.onControl() },
	})
	if err != nil || hc.nc == nil {
		c.releasePending()
		l.refused[refusedUpgrade].Add(1)
		l.cfg.Logger.Debug("ws: upgrade failed", "remote", addr, "err", err)
		if wc != nil {
			_ = wc.CloseNow() // no socket captured: cannot happen with net/http
		}
		return // Accept has answered
	}
	c.nc = hc.nc
	l.lc.open.Add(1)
	l.started.Add(1)
	c.start(wc)

	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		l.refused[refusedClosed].Add(1)
		_ = c.Close(netcode.CodeServerShutdown, "the server is shutting down")
		return
	default:
		select {
		case l.queue <- c:
			l.mu.Unlock()
			return
		default:
		}
	}
	l.mu.Unlock()
	l.refused[refusedBacklog].Add(1)
	_ = c.Close(netcode.CodeServerBusy, "too many connections waiting to be accepted")
}

// reservePending takes a place among the connections that have not sent
// their first message, or reports that MaxPending are taken.
func (l *Listener) reservePending() bool {
	if l.cfg.MaxPending < 0 {
		l.lc.pending.Add(1)
		return true
	}
	for {
		n := l.lc.pending.Load()
		if n >= int64(l.cfg.MaxPending) {
			return false
		}
		if l.lc.pending.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (l *Listener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// refuse counts a refused upgrade and answers err with the status of its
// code (httpapi.Status); a 503 (shutting down, busy, session caps) carries
// Retry-After: 1.
func (l *Listener) refuse(w http.ResponseWriter, r *http.Request, why int, err error) {
	l.refused[why].Add(1)
	if httpapi.Status(netcode.CodeOf(err)) == http.StatusServiceUnavailable {
		err = &httpapi.RetryAfterError{RetryAfter: time.Second, Err: err}
	}
	httpapi.WriteError(w, r, err)
}

// upgradeProblem says why r is not a WebSocket upgrade request, or "".
func upgradeProblem(r *http.Request) string {
	switch {
	case r.Method != http.MethodGet:
		return "a WebSocket upgrade is a GET"
	case !r.ProtoAtLeast(1, 1):
		return "a WebSocket upgrade needs HTTP/1.1"
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return "Connection: Upgrade missing"
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return "Upgrade: websocket missing"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "Sec-WebSocket-Version 13 required"
	case r.Header.Get("Sec-WebSocket-Key") == "":
		return "Sec-WebSocket-Key missing"
	}
	return ""
}

// headerHasToken reports whether the comma-separated values of header
// key contain token (case-insensitively).
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// bearerToken finds a bearer token in the Authorization header or in a
// "tickwire.bearer.<token>" subprotocol. present is true when either is
// there, even malformed (then tok is "").
func bearerToken(r *http.Request) (tok string, present bool) {
	if r.Header.Get("Authorization") != "" {
		tok, _ = httpapi.BearerToken(r) // "" when malformed
		return tok, true
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if t, ok := strings.CutPrefix(strings.TrimSpace(p), BearerProtocolPrefix); ok {
				return t, true
			}
		}
	}
	return "", false
}

// hijackCapture keeps the socket the WebSocket library hijacks, so that
// the Conn can set its deadlines. (net/http clears the server's
// ReadTimeout and WriteTimeout deadlines when it hands a connection over;
// TestQuietConnectionStaysOpen holds it to that.)
type hijackCapture struct {
	http.ResponseWriter
	nc net.Conn
}

func (h *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.nc = nc
	return nc, brw, nil
}

// Accept waits for the next upgraded connection. There is no handshake at
// this layer: the session's Hello is the first message. After Close it
// returns netcode.ErrClosed.
func (l *Listener) Accept() (netcode.Conn, error) {
	return netcode.AsConn(l.AcceptWS())
}

// AcceptWS is Accept returning the concrete type.
func (l *Listener) AcceptWS() (*Conn, error) {
	select {
	case <-l.done:
		return nil, netcode.ErrClosed
	default:
	}
	select {
	case c := <-l.queue:
		l.accepted.Add(1)
		return c, nil
	case <-l.done:
		return nil, netcode.ErrClosed
	}
}

// Close stops accepting: later upgrades are refused with 503
// server_shutdown, and connections upgraded but not yet accepted are
// closed with server_shutdown. Accepted Conns stay open. Idempotent.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.mu.Unlock()
	for {
		select {
		case c := <-l.queue:
			_ = c.Close(netcode.CodeServerShutdown, "the server is shutting down")
		default:
			return nil
		}
	}
}

// Addr reports the path the Listener is mounted on (network "ws"): the
// listening socket is the HTTP server's.
func (l *Listener) Addr() net.Addr { return l.addr }

// ListenerStats implements netcode.ListenerStatsReporter: Sessions are the
// upgraded connections not yet closed; HandshakesStarted counts upgrades;
// Refused counts refused upgrade requests by reason; Drops counts what
// the Conns dropped for protocol violations ("malformed", "too_large").
func (l *Listener) ListenerStats() netcode.ListenerStats {
	s := netcode.ListenerStats{
		Transport:         transportName,
		Addr:              l.addr.String(),
		Sessions:          int(l.lc.open.Load()),
		HandshakesStarted: l.started.Load(),
		Accepted:          l.accepted.Load(),
	}
	for i := range l.refused {
		if n := l.refused[i].Load(); n > 0 {
			if s.Refused == nil {
				s.Refused = map[string]uint64{}
			}
			s.Refused[refusalNames[i]] = n
		}
	}
	for i := range l.lc.drops {
		if n := l.lc.drops[i].Load(); n > 0 {
			if s.Drops == nil {
				s.Drops = map[string]uint64{}
			}
			s.Drops[netcode.DropReason(i).String()] = n
		}
	}
	return s
}

// Pending is the number of upgraded connections whose first message has
// not arrived (capped by MaxPending).
func (l *Listener) Pending() int { return int(l.lc.pending.Load()) }

// wsAddr is a Listener's address: the path it is mounted on.
type wsAddr string

func (a wsAddr) Network() string { return transportName }
func (a wsAddr) String() string  { return string(a) }
