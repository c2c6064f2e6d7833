package bench

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/tickwire/tickwire/client"

	"github.com/tickwire/tickwire/netcode/kcp"
)

// Env is where scenarios run: the server they talk to and how they report
// progress.
type Env struct {
	Target Target
	// Progress makes progress bars (nil: none). See Bar.
	Progress func(label string, total int64) *Progress
	// Logger receives rare events (nil: discard).
	Logger *slog.Logger
	// KCP configures the tickwire clients' KCP transport (zero: the
	// defaults), e.g. a redundancy budget for a what-if run.
	KCP kcp.Config
	// Nodes, when it lists two or more, are the nodes of one cluster
	// (docs/CLUSTER.md) and Target is the first: the chat and room
	// scenarios spread their clients over them round-robin and report
	// cross-node rows ("kcp/direct-xnode"). Each node's KCP key is
	// fetched from its own HTTP API.
	Nodes []Target
}

// nodes returns an Env per node a run spreads its clients over: e itself
// on a single server; on a cluster a copy per node, its Target that
// node's and its KCP key pinned from it (prepareKCP).
func (e *Env) nodes(ctx context.Context, rep *Report, transports []string) []*Env {
	if len(e.Nodes) < 2 {
		e.prepareKCP(ctx, rep, transports)
		return []*Env{e}
	}
	out := make([]*Env, len(e.Nodes))
	for k, t := range e.Nodes {
		ne := *e
		ne.Target, ne.Nodes = t, nil
		if !e.KCP.Plaintext {
			ne.KCP.ServerKey = nil // each node has its own key
		}
		ne.prepareKCP(ctx, rep, transports)
		out[k] = &ne
	}
	return out
}

func (e *Env) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// Target holds the addresses of a tickwire server and of the baseline
// servers (host:port each): the two echo servers and the udp-raw room
// relay. The HTTP port also serves the ws and
// longpoll transports and WebRTC's offers; WebRTC's data channels use its
// UDP port (WebRTC), which the client learns from the answer, so only an
// impaired run needs it (the proxy goes in front of it).
type Target struct {
	KCP, TCP, HTTP   string // tickwire: KCP (UDP), framed TCP, HTTP API (+ ws, longpoll, WebRTC offers)
	WebRTC           string // tickwire: WebRTC's UDP port
	Admin            string // tickwire's admin listener (/v1/stats, /metrics), when a local server opened one
	UDPEcho, KCPEcho string // baselines: plain UDP echo, kcp-go echo
	UDPRoom          string // baseline: the udp-raw room relay (room runs over udp-raw)
	// Local is true when the servers run inside this process.
	Local bool
	// ServerPID, when > 0, is a local server process whose CPU and memory
	// are sampled from /proc during room runs.
	ServerPID int
	// TLS verifies a server that serves TLS (HTTPS, WSS, TCP over TLS);
	// nil: plain. Set it with WithTLS. Its ServerName must name the
	// server when the clients dial an impair proxy in front of it.
	TLS  *tls.Config
	http *http.Client // for the HTTP API over TLS (nil: http.DefaultClient)
}

// WithTLS returns t reaching its server over TLS verified with cfg (see
// netcode/tlsconf.Client).
func (t Target) WithTLS(cfg *tls.Config) Target {
	t.TLS, t.http = cfg, client.HTTPClient(cfg)
	return t
}

// api is the server's HTTP API.
func (t Target) api() client.API { return client.API{Base: t.httpBase(), HTTP: t.http} }

// scheme is secure when t reaches its server over TLS, else plain.
func (t Target) scheme(plain, secure string) string {
	if t.TLS != nil {
		return secure
	}
	return plain
}

// Default ports of a remote server (tickwire serve and tickbench serve
// use the same).
const (
	DefaultKCPPort     = 7777
	DefaultTCPPort     = 7778
	DefaultWebRTCPort  = 7779
	DefaultHTTPPort    = 7780
	DefaultUDPEchoPort = 7790
	DefaultKCPEchoPort = 7791
	DefaultUDPRoomPort = 7792
)

// Ports are a remote server's ports (RemoteTarget); zero fields take the
// Default*Port.
type Ports struct {
	KCP, TCP, HTTP, WebRTC int // tickwire
	UDPEcho, KCPEcho       int // baselines
	UDPRoom                int // baseline: the udp-raw room relay
}

// RemoteTarget builds a Target from a host and its ports.
func RemoteTarget(host string, p Ports) Target {
	hp := func(port, def int) string { return net.JoinHostPort(host, strconv.Itoa(cmp.Or(port, def))) }
	return Target{KCP: hp(p.KCP, DefaultKCPPort), TCP: hp(p.TCP, DefaultTCPPort), HTTP: hp(p.HTTP, DefaultHTTPPort),
		WebRTC: hp(p.WebRTC, DefaultWebRTCPort), UDPEcho: hp(p.UDPEcho, DefaultUDPEchoPort), KCPEcho: hp(p.KCPEcho, DefaultKCPEchoPort),
		UDPRoom: hp(p.UDPRoom, DefaultUDPRoomPort)}
}

// httpBase is the base URL of the HTTP API.
func (t Target) httpBase() string { return t.scheme("http://", "https://") + t.HTTP }

func dialLink(ctx context.Context, env *Env, name, addr string, size int) (echoLink, error) {
	t, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if t.baseline != nil {
		return t.baseline(env, addr, size)
	}
	l, err := dialTickwire(ctx, env, name, addr, size)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// bar starts a progress bar, or returns nil (a valid no-op bar).
func (e *Env) bar(label string, total int64) *Progress {
	if e.Progress == nil {
		return nil
	}
	return e.Progress(label, total)
}

// WithKCPFromHTTP returns t with its KCP address taken from its HTTP API
// (GET /v1/kcp names the port, on the HTTP API's host): for a node known
// by its HTTP address alone (tickbench --servers host:httpport).
func (t Target) WithKCPFromHTTP(ctx context.Context) (Target, error) {
	info, err := kcp.FetchInfo(ctx, t.http, t.httpBase())
	if err != nil {
		return t, fmt.Errorf("bench: KCP port of %s: %w", t.HTTP, err)
	}
	host, _, err := net.SplitHostPort(t.HTTP)
	if err != nil {
		return t, fmt.Errorf("bench: %w", err)
	}
	t.KCP = net.JoinHostPort(host, strconv.Itoa(info.Port))
	return t, nil
}
