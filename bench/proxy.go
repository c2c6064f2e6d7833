package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/tickwire/tickwire/netcode/impair"
)

// proxy is an impairment proxy in front of one server address.
type proxy interface {
	Addr() string
	// WireBytes estimates the bytes both endpoints put on the wire: what
	// the proxy forwarded plus its dropped packets counted at the mean
	// forwarded size (the impair proxy counts bytes only when it
	// forwards).
	WireBytes() uint64
	// Removed says which impairments the proxy could not apply ("" when
	// none were removed).
	Removed() string
	Close() error
}

// impairConfig translates an Impairment into the proxies' config: the
// same loss (random or in bursts), delay and jitter in each direction.
func impairConfig(imp Impairment, seed int64) impair.Config {
	d := impair.Direction{Delay: imp.Delay, Jitter: imp.Jitter}
	if imp.BurstLen > 0 {
		d.Burst = impair.BurstLoss(imp.LossPct/100, imp.BurstLen)
	} else {
		d.Loss = imp.LossPct / 100
	}
	return impair.Config{Up: d, Down: d, Seed: seed}
}

func startProxy(_ context.Context, env *Env, kind proxyKind, target string, imp Impairment, seed int64) (proxy, error) {
	cfg := impairConfig(imp, seed)
	cfg.Logger = env.logger()
	if kind == proxyStream {
		tcfg, removed := cfg.ForTCP()
		p, err := impair.NewTCPProxy("127.0.0.1:0", target, tcfg)
		if err != nil {
			return nil, err
		}
		return &tcpProxy{p: p, removed: removed}, nil
	}
	p, err := impair.NewUDPProxy("127.0.0.1:0", target, cfg)
	if err != nil {
		return nil, err
	}
	return &udpProxy{p: p}, nil
}

func emitted(d impair.DirStats) uint64 {
	if d.Forwarded == 0 {
		return 0
	}
	return d.Bytes + d.TotalDropped()*d.Bytes/d.Forwarded
}

type udpProxy struct{ p *impair.UDPProxy }

func (u *udpProxy) Addr() string { return u.p.Addr().String() }
func (u *udpProxy) WireBytes() uint64 {
	s := u.p.Stats()
	return emitted(s.Up) + emitted(s.Down)
}
func (u *udpProxy) Removed() string { return "" }
func (u *udpProxy) Close() error    { return u.p.Close() }

type tcpProxy struct {
	p       *impair.TCPProxy
	removed string
}

func (t *tcpProxy) Addr() string { return t.p.Addr().String() }
func (t *tcpProxy) WireBytes() uint64 {
	s := t.p.Stats()
	return s.Up.Bytes + s.Down.Bytes
}
func (t *tcpProxy) Removed() string { return t.removed }
func (t *tcpProxy) Close() error    { return t.p.Close() }

// answerVia posts a WebRTC offer and rewrites the answer's ICE
// candidates so that the client sends to an impair proxy in front of the
// server's UDP port instead of the port itself. Candidates on other
// ports (there are none on a tickwire server, which has one UDP port)
// are dropped, so that no path bypasses the proxy.
type answerVia struct {
	server string       // the server's UDP address (host:port)
	proxy  string       // the proxy's address (host:port)
	hc     *http.Client // nil: http.DefaultClient
}

// maxAnswer bounds the answer read (the webrtc dialer caps it too).
const maxAnswer = 64 << 10

func (a answerVia) Do(req *http.Request) (*http.Response, error) {
	hc := a.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_ = resp.Body.Close() // fully read or failed: either way done with it
	if err != nil {
		return nil, err
	}
	sdp, n, err := rewriteCandidates(string(body), a.server, a.proxy)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: the WebRTC answer has no candidate on the server's UDP port %s", ErrImpairBypassed, a.server)
	}
	resp.Body = io.NopCloser(strings.NewReader(sdp))
	resp.ContentLength = int64(len(sdp))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// rewriteCandidates replaces, in an SDP, the address of every UDP ICE
// candidate on server's port by proxy, drops the other candidates, and
// returns how many it rewrote. A candidate line is
// "a=candidate:<foundation> <component> <transport> <priority> <ip> <port> typ <type> ...".
func rewriteCandidates(sdp, server, proxy string) (string, int, error) {
	_, sport, err := net.SplitHostPort(server)
	if err != nil {
		return "", 0, fmt.Errorf("webrtc server address: %w", err)
	}
	phost, pport, err := net.SplitHostPort(proxy)
	if err != nil {
		return "", 0, fmt.Errorf("proxy address: %w", err)
	}
	lines := strings.Split(sdp, "\r\n")
	out := lines[:0]
	n := 0
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "a=candidate:")
		if !ok {
			out = append(out, l)
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 8 || !strings.EqualFold(f[2], "udp") || f[5] != sport {
			continue
		}
		f[4], f[5] = phost, pport
		out = append(out, "a=candidate:"+strings.Join(f, " "))
		n++
	}
	return strings.Join(out, "\r\n"), n, nil
}
