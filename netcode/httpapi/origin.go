package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// OriginPolicy is tickwire's one rule for which browser pages may use the
// server: the WebSocket upgrade refuses the others (netcode/ws), and
// Wrap answers only allowed origins with CORS headers. A request is
// allowed when
//
//   - it has no Origin header (not a browser: nothing to forge);
//   - its Origin's host[:port] equals the request's Host (the page is
//     served by the same server, or the same proxy name);
//   - its Origin's host is localhost, 127.0.0.1 or [::1], any port and
//     scheme (development);
//   - its Origin matches one of the policy's patterns.
//
// A pattern is exact: "https://game.example.com" (scheme, host and port;
// a default port may be written or not), "game.example.com:8443" (host
// and port, any scheme), "*.example.com" or "https://*.example.com" (any
// subdomain of example.com, not example.com itself), or "*" alone (any
// origin: the API authenticates with bearer tokens, never cookies, so a
// page can only use the tokens it holds). Hosts compare
// case-insensitively and whole: "localhost.evil.example" is not
// localhost, "example.com.evil.test" is not under example.com.
// "Origin: null" (sandboxed frames, file:// pages, redirects) names no
// page and is never allowed, not even by "*".
//
// The zero or nil *OriginPolicy has no patterns. A policy is immutable and
// safe for concurrent use.
type OriginPolicy struct {
	anyOrigin bool
	patterns  []originPattern
}

// originPattern is one parsed pattern; fields are lower-case.
type originPattern struct {
	scheme string // "" matches any scheme
	host   string // the host, or with sub the domain under "*."
	sub    bool   // "*.host": any subdomain of host
	port   string // "" is the scheme's default port (no port in the Origin)
}

// NewOriginPolicy parses patterns (see OriginPolicy); an invalid one is
// an error matching ErrBadOrigin. Surrounding spaces and a trailing "/"
// are ignored.
func NewOriginPolicy(patterns []string) (*OriginPolicy, error) {
	p := &OriginPolicy{}
	for _, s := range patterns {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "*" {
			p.anyOrigin = true
			continue
		}
		op, err := parseOriginPattern(s)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBadOrigin, s, err)
		}
		p.patterns = append(p.patterns, op)
	}
	return p, nil
}

func parseOriginPattern(s string) (originPattern, error) {
	var op originPattern
	rest := strings.TrimSuffix(s, "/")
	if scheme, r, ok := strings.Cut(rest, "://"); ok {
		if !validScheme(scheme) {
			return op, fmt.Errorf("bad scheme %q", scheme)
		}
		op.scheme, rest = scheme, r
	}
	if r, ok := strings.CutPrefix(rest, "*."); ok {
		op.sub, rest = true, r
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return op, err
	}
	if !validHost(host) {
		return op, fmt.Errorf("bad host %q", host)
	}
	op.host, op.port = host, withoutDefaultPort(op.scheme, port)
	return op, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port"; the
// host of an IPv6 literal is returned without brackets.
func splitHostPort(s string) (host, port string, err error) {
	if s == "" || strings.ContainsAny(s, "/?#@\\ ") {
		return "", "", fmt.Errorf("want host[:port], got %q", s)
	}
	u, err := url.Parse("x://" + s)
	if err != nil || u.Host != s {
		return "", "", fmt.Errorf("want host[:port], got %q", s)
	}
	host, port = u.Hostname(), u.Port()
	if strings.HasSuffix(s, ":") {
		return "", "", fmt.Errorf("empty port in %q", s)
	}
	if port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return "", "", fmt.Errorf("bad port %q", port)
		}
	}
	return host, port, nil
}

func parsePort(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' || n > 65535 {
			return 0, fmt.Errorf("bad port %q", s)
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return n, nil
}

// validScheme is RFC 3986's scheme: a letter, then letters, digits, "+",
// "-" or ".".
func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// validHost accepts an IP address or a DNS name of letters, digits, "-",
// "_" and "." with no empty label.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" {
			return false
		}
		for _, c := range label {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return false
			}
		}
	}
	return true
}

// withoutDefaultPort drops port when it is scheme's default, so that
// "https://a.example:443" and "https://a.example" compare equal.
func withoutDefaultPort(scheme, port string) string {
	if port == "80" && (scheme == "http" || scheme == "ws") || port == "443" && (scheme == "https" || scheme == "wss") {
		return ""
	}
	return port
}

// origin is a parsed Origin header; fields are lower-case.
type origin struct {
	scheme, host, port string // port "" when the scheme's default
}

// parseOrigin parses a serialized origin, scheme://host[:port]. "null"
// and anything with a path, query, fragment or user fails.
func parseOrigin(s string) (origin, bool) {
	u, err := url.Parse(strings.ToLower(s))
	if err != nil || u.Scheme == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.Host, ":") {
		return origin{}, false
	}
	port := u.Port()
	if port != "" {
		if _, err := parsePort(port); err != nil {
			return origin{}, false
		}
	}
	return origin{scheme: u.Scheme, host: u.Hostname(), port: withoutDefaultPort(u.Scheme, port)}, true
}

// Allows reports whether r comes from a page the policy allows: r has no
// Origin header, or AllowsOrigin(its Origin, r.Host).
func (p *OriginPolicy) Allows(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || p.AllowsOrigin(o, r.Host)
}

// AllowsOrigin reports whether a page of origin may use a server reached
// as host (the request's Host header).
func (p *OriginPolicy) AllowsOrigin(originHeader, host string) bool {
	o, ok := parseOrigin(originHeader)
	if !ok {
		return false
	}
	switch o.host {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	if sameHost(o, host) {
		return true
	}
	if p == nil {
		return false
	}
	if p.anyOrigin {
		return true
	}
	for _, op := range p.patterns {
		if op.matches(o) {
			return true
		}
	}
	return false
}

// sameHost reports whether o's host and port are the request's Host
// ("name", "name:port", "[v6]", "[v6]:port"), whose port may be written
// even when it is o's scheme's default.
func sameHost(o origin, host string) bool {
	host = strings.ToLower(host)
	port := ""
	if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
		host, port = host[:i], host[i+1:]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return host != "" && host == o.host && withoutDefaultPort(o.scheme, port) == o.port
}

func (op originPattern) matches(o origin) bool {
	if op.scheme != "" && op.scheme != o.scheme {
		return false
	}
	port := op.port // normalised for op.scheme when it has one
	if op.scheme == "" {
		port = withoutDefaultPort(o.scheme, port)
	}
	if port != o.port {
		return false
	}
	if op.sub {
		return len(o.host) > len(op.host)+1 && strings.HasSuffix(o.host, "."+op.host)
	}
	return o.host == op.host
}
