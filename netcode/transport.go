package netcode

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Transport is one way for clients to reach a server: a value the server
// assembly (package server) opens a Listener from. A transport is its own
// package; the binary lists the transports it serves, one line each:
//
//	Transports: []netcode.Transport{
//		&kcp.Transport{Addr: ":7777"},
//		&tcp.Transport{Addr: ":7778"},
//	}
type Transport interface {
	// Name is the transport's name, as Conn.Transport reports it.
	Name() string
	// Listen opens the transport's Listener with what the assembly shares.
	// A transport that speaks HTTP (WebSocket upgrade, long-poll
	// endpoints, WebRTC signaling) mounts its routes on env.HTTP during
	// Listen. On error nothing stays open.
	Listen(env Env) (Listener, error)
}

// Env is what the server assembly gives every Transport it opens.
type Env struct {
	// Logger receives the transport's logs (already tagged with its name).
	Logger *slog.Logger
	// HeartbeatInterval and IdleTimeout are what the engine advertises
	// in Welcome; the transport enforces them (see Timeouts).
	HeartbeatInterval, IdleTimeout time.Duration
	// MaxMessageSize is the engine's frame limit. A transport whose
	// message limit is not part of its wire contract (a WebSocket read
	// limit) may use it when its own config leaves the limit zero; KCP
	// and TCP keep their own, which their clients share.
	MaxMessageSize int
	// HTTP is the server's one HTTP server's mux, on which a transport
	// mounts its routes (patterns as for http.ServeMux, under a path of
	// its own). It is nil when the server has no HTTP listener; a
	// transport that needs HTTP then fails Listen with ErrNoHTTP.
	HTTP Mux
	// ClientAddr is the client's address for an HTTP request: the peer,
	// or behind a trusted proxy the address it forwarded (the assembly's
	// one rule). An HTTP transport gives it as its Conn's RemoteAddr, so
	// the engine's per-address caps count the real client. Nil means the
	// request's RemoteAddr (see Env.RemoteAddr).
	ClientAddr func(r *http.Request) net.Addr
	// VerifyToken checks a bearer token as the session's Hello would
	// (signature, expiry, revocation), with a coded error. A transport
	// that must not allocate for strangers (a WebRTC offer, a long-poll
	// open) calls it first. Nil accepts every token (tests).
	VerifyToken func(ctx context.Context, token string) error
	// AllowedOrigins are the assembly's browser origin patterns
	// (httpapi.OriginPolicy): the one list the HTTP middleware's CORS
	// applies, and that a transport checking Origin itself (the
	// WebSocket upgrade) allows besides the policy's built-in rule (the
	// request's own host, localhost). Nil: no patterns.
	AllowedOrigins []string
	// Admit reports whether a new session from addr would pass the
	// engine's session caps (per address, global), with a coded error
	// (too_many_sessions), so that a transport refuses before it
	// allocates. It reserves nothing. Nil admits everyone (tests).
	Admit func(addr net.Addr) error
	// TLS is the server's TLS configuration (nil: plain). The HTTP
	// server serves HTTPS with it, so the transports over HTTP are
	// encrypted already; a transport with a stream listener of its own
	// (TCP) wraps its connections in it unless its config brings one.
	// The transport must clone it before changing it.
	TLS *tls.Config
}

// RemoteAddr is the client address of r by env.ClientAddr, or r.RemoteAddr.
func (env Env) RemoteAddr(r *http.Request) net.Addr {
	if env.ClientAddr != nil {
		if a := env.ClientAddr(r); a != nil {
			return a
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return &net.TCPAddr{}
}

// Mux is where transports mount HTTP routes (*http.ServeMux is one).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// ErrNoHTTP is returned by a transport that needs the HTTP server when the
// assembly runs without one.
var ErrNoHTTP = fmt.Errorf("netcode: transport needs the HTTP server, which is off")

// Timeouts fills a transport's heartbeat interval and idle timeout from
// the engine's: a zero value takes the engine's, an equal one is kept, a
// different one is an error (Welcome would advertise a value the
// transport does not enforce).
func (env Env) Timeouts(heartbeat, idle *time.Duration) error {
	for _, d := range []struct {
		name string
		v    *time.Duration
		want time.Duration
	}{{"HeartbeatInterval", heartbeat, env.HeartbeatInterval}, {"IdleTimeout", idle, env.IdleTimeout}} {
		switch *d.v {
		case 0:
			*d.v = d.want
		case d.want:
		default:
			return fmt.Errorf("netcode: transport %s %v differs from the engine's %v that Welcome advertises; set the engine's", d.name, *d.v, d.want)
		}
	}
	return nil
}

// Configure fills the fields of a transport's Config that come from the
// engine, as every Transport.Listen does first: the heartbeat interval
// and idle timeout (see Timeouts), a nil *logger with env.Logger, and a
// zero *maxMessageSize with env.MaxMessageSize. A transport whose message
// limit is part of its wire contract (KCP, TCP: their clients share it)
// passes a nil maxMessageSize and keeps its own.
func (env Env) Configure(heartbeat, idle *time.Duration, logger **slog.Logger, maxMessageSize *int) error {
	if err := env.Timeouts(heartbeat, idle); err != nil {
		return err
	}
	if *logger == nil {
		*logger = env.Logger
	}
	if maxMessageSize != nil && *maxMessageSize == 0 {
		*maxMessageSize = env.MaxMessageSize
	}
	return nil
}

// Shutdowner is an optional interface of a Listener whose goroutines
// outlive Close (a UDP socket shared by its sessions): Shutdown closes
// everything and waits for them, bounded by ctx. The assembly calls it
// after the engine has closed every session.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// AsListener returns a transport constructor's result as the interface:
// nil (not a nil pointer in a non-nil interface) when err is set.
func AsListener[L Listener](l L, err error) (Listener, error) {
	if err != nil {
		return nil, err
	}
	return l, nil
}

// AsConn returns a dial or accept result as the interface: nil (not a nil
// pointer in a non-nil interface) when err is set.
func AsConn[C Conn](c C, err error) (Conn, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}
