package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Config configures Wrap.
type Config struct {
	// TrustedProxies are the addresses of the proxies (load balancers)
	// allowed to name the client in X-Forwarded-For. Default none: the
	// client is always the TCP peer.
	TrustedProxies []netip.Prefix
	// Origins is the browser origin policy CORS applies (nil: no
	// patterns, so the request's own host and localhost only); see
	// OriginPolicy.
	Origins *OriginPolicy
	// CORS counts preflights answered and refused and requests from
	// disallowed origins (nil: counted where nobody reads).
	CORS *CORSCounters
	// ServerLog counts the connections the HTTP server dropped before a
	// request (failed TLS handshakes), through ServerErrorLog (nil:
	// counted where nobody reads).
	ServerLog *ServerLogCounters
	// Logger receives internal errors answered by WriteError (default:
	// discarded).
	Logger *slog.Logger
}

type ctxKey struct{}

// reqInfo is what Wrap resolves once per request.
type reqInfo struct {
	client netip.Addr
	id     string
	log    *slog.Logger
}

var discard = slog.New(slog.DiscardHandler)

// Wrap returns h behind the API's middleware: every response carries
// Cache-Control: no-store, X-Content-Type-Options: nosniff and
// Content-Type: application/json (a handler may replace the last), the
// client address is resolved once (see ClientIP) and kept in the
// request's context with cfg.Logger, and requests from browser pages
// get CORS by cfg.Origins. Every request gets a short random id, in
// the X-Request-Id response header and as the request_id attribute of
// the logger in its context (Logger), so every line of one request
// names it. Requests from browser pages get CORS by cfg.Origins:
//
//   - a request whose Origin the policy allows is answered with
//     Access-Control-Allow-Origin: <that origin>, Vary: Origin and
//     Access-Control-Expose-Headers: Retry-After, WWW-Authenticate;
//   - its preflight (OPTIONS with Access-Control-Request-Method) is
//     answered 204 with Access-Control-Allow-Methods (GET, POST, PUT,
//     DELETE), Access-Control-Allow-Headers (Authorization,
//     Content-Type) and Access-Control-Max-Age: 600, without reaching h;
//   - a request from another origin gets no CORS headers (the browser
//     keeps the answer from the page) and its preflight 403 forbidden;
//   - a request without Origin is not a browser's cross-origin request
//     and is left alone.
//
// Access-Control-Allow-Credentials is never sent: the API takes bearer
// tokens, never cookies. Wrapping twice is harmless: the outer
// resolution and CORS are kept, the inner Wrap's config is not used.
func Wrap(h http.Handler, cfg Config) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = discard
	}
	counters := cfg.CORS
	if counters == nil {
		counters = new(CORSCounters)
	}
	trusted := make([]netip.Prefix, 0, len(cfg.TrustedProxies))
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			continue
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96) // clients are unmapped too
		}
		trusted = append(trusted, p.Masked())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w.Header())
		if _, ok := r.Context().Value(ctxKey{}).(*reqInfo); !ok {
			id := newRequestID()
			w.Header().Set(RequestIDHeader, id)
			info := &reqInfo{client: resolveClient(r, trusted), id: id, log: log.With("request_id", id)}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, info))
			if cors(w, r, cfg.Origins, counters) {
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// WithRequestID gives every request what Wrap gives it for logging, and
// nothing else: a short random id in the X-Request-Id response header,
// and a logger with that request_id attribute (log's, discarding when
// nil) in its context, for Logger, RequestID and WriteError. It sets no
// API headers and answers no CORS; the client is the TCP peer. For the
// HTTP listeners that are not the API (the admin listener).
func WithRequestID(h http.Handler, log *slog.Logger) http.Handler {
	if log == nil {
		log = discard
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(ctxKey{}).(*reqInfo); !ok {
			id := newRequestID()
			w.Header().Set(RequestIDHeader, id)
			info := &reqInfo{client: peerAddr(r), id: id, log: log.With("request_id", id)}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, info))
		}
		h.ServeHTTP(w, r)
	})
}

type connKey struct{}

// ConnContext is an http.Server.ConnContext that keeps each connection
// in the context of the requests it carries, for Conn.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// Conn is the connection r arrived on (a *tls.Conn under HTTPS) when the
// server's ConnContext is ConnContext; nil otherwise. A transport over
// HTTP reads the round-trip time of its client's socket from it.
func Conn(r *http.Request) net.Conn {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	return c
}

// setHeaders sets the headers every API answer carries.
func setHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// ClientIP is the address of the request's client as Wrap resolved it:
// the TCP peer, or, when the peer is a trusted proxy, the right-most
// address of X-Forwarded-For that is not itself a trusted proxy. Outside
// Wrap it is the TCP peer. IPv4-mapped IPv6 addresses are unmapped. The
// zero Addr means the peer has no IP (an in-memory listener).
func ClientIP(r *http.Request) netip.Addr {
	if info, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return info.client
	}
	return peerAddr(r)
}

// ClientPrefix is the key of per-client limits: ClientIP as a /32 for
// IPv4 and its /64 for IPv6 (one host usually holds a whole /64). The
// zero Prefix when the peer has no IP.
func ClientPrefix(r *http.Request) netip.Prefix {
	a := ClientIP(r)
	if !a.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits) // cannot fail: bits fit the address family
	return p
}

// RequestIDHeader is the response header carrying the request's id, the
// request_id attribute of the server's log lines about that request.
const RequestIDHeader = "X-Request-Id"

// newRequestID returns a short random id (8 bytes, hex).
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// RequestID is the id Wrap gave the request ("" outside Wrap).
func RequestID(r *http.Request) string {
	if info, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return info.id
	}
	return ""
}

// Logger is the logger Wrap put in the request's context, carrying its
// request_id: handlers log through it so every line of one request names
// it (discarding outside Wrap).
func Logger(r *http.Request) *slog.Logger {
	return logger(r)
}

// logger is the logger Wrap put in r's context (discarding outside Wrap).
func logger(r *http.Request) *slog.Logger {
	if info, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return info.log
	}
	return discard
}

func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

// resolveClient walks X-Forwarded-For from the right (the entry the
// nearest proxy appended) past trusted proxies; the first untrusted entry
// is the client. An entry that is not an address stops the walk at the
// last trusted hop: what lies left of it cannot be trusted. If every
// entry is a trusted proxy, the left-most one is the client.
func resolveClient(r *http.Request, trusted []netip.Prefix) netip.Addr {
	client := peerAddr(r)
	if !isTrusted(client, trusted) {
		return client
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		list := xff[i]
		for list != "" {
			var entry string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				list, entry = list[:j], list[j+1:]
			} else {
				list, entry = "", list
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			a, ok := parseForwarded(entry)
			if !ok {
				return client
			}
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

// parseForwarded parses an X-Forwarded-For entry: an address, or an
// address and port ("203.0.113.7:4711", "[2001:db8::1]:4711").
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (the scheme is case-insensitive).
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
