package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
)

// Transport names, as --transports spells them.
const (
	TransportUDPRaw           = "udp-raw"           // baseline: plain UDP echo
	TransportKCPBare          = "kcp-bare"          // baseline: kcp-go alone, same profile
	TransportKCP              = "kcp"               // tickwire KCP, reliable channel
	TransportKCPUnreliable    = "kcp-unreliable"    // tickwire KCP, unreliable channel
	TransportTCP              = "tcp"               // tickwire framed TCP
	TransportWS               = "ws"                // tickwire WebSocket on the HTTP port
	TransportLongPoll         = "longpoll"          // tickwire HTTP long-polling on the HTTP port
	TransportWebRTC           = "webrtc"            // tickwire WebRTC, reliable data channel
	TransportWebRTCUnreliable = "webrtc-unreliable" // tickwire WebRTC, unreliable data channel
)

// proxyKind is the impair proxy a transport's packets can go through.
type proxyKind uint8

const (
	// proxyUDP drops, delays and reorders datagrams (impair.NewUDPProxy).
	proxyUDP proxyKind = iota
	// proxyStream only delays and throttles a byte stream
	// (impair.NewTCPProxy): loss is not injected.
	proxyStream
)

// transport is what bench knows about one transport it measures. The
// table below is the only place that lists them: measuring a new
// tickwire transport is one entry (plus its address in Target when it
// has a port of its own).
type transport struct {
	name string
	// crosses says what a message crosses between the client and the
	// server, for the report ("UDP (KCP)", "TCP (HTTP requests)").
	crosses string
	// addr is the server address the transport's packets go to; an
	// impair proxy is put in front of it.
	addr func(Target) string
	// proxy is the kind of impair proxy that fits the transport.
	proxy proxyKind

	// Tickwire transports only (baseline is nil):

	// channel carries echo requests and room inputs.
	channel netcode.Channel
	// session is the transport whose sessions connect storms and chat
	// uses: the transport itself, or the reliable twin of an unreliable
	// row (kcp-unreliable has kcp's handshake and kcp's chat).
	session string
	// dial builds the client's dial function: addr is addr(t) or the
	// impair proxy in front of it; token is the session's bearer token
	// (transports that authenticate before the session's Hello use it).
	dial func(env *Env, t Target, addr, token string) client.DialFunc
	// fleet, when set, dials a room run's many sessions, perSocket of
	// them sharing a client socket (see fleet); nil means one dial each.
	fleet func(env *Env, addr string, perSocket int) *fleet

	// Baselines only: the echo link over addr.
	baseline func(env *Env, addr string, size int) (echoLink, error)
	// rooms, on a baseline, says that room runs take it: udp-raw drives
	// the udp-raw room relay (roomraw.go).
	rooms bool
}

// transports lists every transport in report order: the baselines, then
// tickwire's.
var transports = []transport{
	{name: TransportUDPRaw, crosses: "UDP (plain datagrams, baseline)", addr: func(t Target) string { return t.UDPEcho }, proxy: proxyUDP, rooms: true,
		baseline: func(_ *Env, addr string, size int) (echoLink, error) {
			l, err := dialUDPLink(addr, size)
			if err != nil {
				return nil, err // a nil interface, not a nil *udpLink
			}
			return l, nil
		}},
	{name: TransportKCPBare, crosses: "UDP (KCP, kcp-go alone, baseline)", addr: func(t Target) string { return t.KCPEcho }, proxy: proxyUDP,
		baseline: func(env *Env, addr string, size int) (echoLink, error) {
			l, err := dialKCPLink(addr, size, BareProfile)
			if err != nil {
				return nil, err
			}
			l.local = env.Target.Local
			return l, nil
		}},
	{name: TransportKCP, crosses: "UDP (KCP)", addr: func(t Target) string { return t.KCP }, proxy: proxyUDP,
		channel: netcode.Reliable, session: TransportKCP, dial: dialKCP, fleet: kcpFleet},
	{name: TransportKCPUnreliable, crosses: "UDP (KCP)", addr: func(t Target) string { return t.KCP }, proxy: proxyUDP,
		channel: netcode.Unreliable, session: TransportKCP, dial: dialKCP, fleet: kcpFleet},
	{name: TransportTCP, crosses: "TCP", addr: func(t Target) string { return t.TCP }, proxy: proxyStream,
		channel: netcode.Reliable, session: TransportTCP,
		dial: func(_ *Env, t Target, addr, _ string) client.DialFunc {
			return tcp.Dialer{Addr: addr, Config: tcp.Config{TLS: t.TLS}}.Dial
		}},
	{name: TransportWS, crosses: "TCP (WebSocket over HTTP/1.1)", addr: func(t Target) string { return t.HTTP }, proxy: proxyStream,
		channel: netcode.Reliable, session: TransportWS,
		dial: func(_ *Env, t Target, addr, token string) client.DialFunc {
			return ws.Dialer{URL: t.scheme("ws://", "wss://") + addr + ws.DefaultPath, Token: token, TLSConfig: t.TLS}.Dial
		}},
	{name: TransportLongPoll, crosses: "TCP (HTTP requests)", addr: func(t Target) string { return t.HTTP }, proxy: proxyStream,
		channel: netcode.Reliable, session: TransportLongPoll,
		dial: func(_ *Env, t Target, addr, token string) client.DialFunc {
			return longpoll.Dialer{URL: t.scheme("http://", "https://") + addr, Token: token, TLSConfig: t.TLS}.Dial
		}},
	{name: TransportWebRTC, crosses: "UDP (SCTP over DTLS)", addr: func(t Target) string { return t.WebRTC }, proxy: proxyUDP,
		channel: netcode.Reliable, session: TransportWebRTC, dial: dialWebRTC},
	{name: TransportWebRTCUnreliable, crosses: "UDP (SCTP over DTLS)", addr: func(t Target) string { return t.WebRTC }, proxy: proxyUDP,
		channel: netcode.Unreliable, session: TransportWebRTC, dial: dialWebRTC},
}

// AllTransports lists every transport in report order.
var AllTransports = transportNames()

func transportNames() []string {
	out := make([]string, len(transports))
	for i, t := range transports {
		out[i] = t.name
	}
	return out
}

// lookup returns the table entry of name.
func lookup(name string) (*transport, error) {
	for i := range transports {
		if transports[i].name == name {
			return &transports[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTransport, name)
}

// tickwireOnly checks that every name is a tickwire transport (not a
// baseline): scenarios that need a session use it.
func tickwireOnly(scenario string, names []string) error {
	for _, n := range names {
		t, err := lookup(n)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		if t.dial == nil {
			return fmt.Errorf("%w: %s runs over tickwire transports (%s), not the baseline %q",
				ErrConfig, scenario, strings.Join(tickwireNames(), ", "), n)
		}
	}
	return nil
}

// roomTransports checks that every name can carry a room run: a tickwire
// transport, or a baseline with a room relay (udp-raw).
func roomTransports(names []string) error {
	for _, n := range names {
		t, err := lookup(n)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		if t.dial == nil && !t.rooms {
			return fmt.Errorf("%w: room runs over tickwire transports (%s) and %s, not the baseline %q",
				ErrConfig, strings.Join(tickwireNames(), ", "), TransportUDPRaw, n)
		}
	}
	return nil
}

func tickwireNames() []string {
	var out []string
	for _, t := range transports {
		if t.dial != nil {
			out = append(out, t.name)
		}
	}
	return out
}

// sessionTransports maps names to their session transports (see
// transport.session), each once, in order; baselines are left out.
func sessionTransports(names []string) []string {
	var out []string
	for _, n := range names {
		if t, err := lookup(n); err == nil && t.dial != nil && !slices.Contains(out, t.session) {
			out = append(out, t.session)
		}
	}
	return out
}

// crossesOf is the report's "crosses" description of name ("" when
// unknown).
func crossesOf(name string) string {
	if t, err := lookup(name); err == nil {
		return t.crosses
	}
	return ""
}

// newResult starts the row of transport name under imp.
func newResult(name, transport string, imp Impairment) Result {
	return Result{Name: name, Crosses: crossesOf(transport), Impairment: imp.Label(), LossPct: imp.LossPct,
		DelayUs: float64(imp.Delay.Microseconds()), JitterUs: float64(imp.Jitter.Microseconds())}
}

// addrFor is the server address of transport name in t.
func (t Target) addrFor(name string) (string, error) {
	tr, err := lookup(name)
	if err != nil {
		return "", err
	}
	a := tr.addr(t)
	if a == "" {
		return "", fmt.Errorf("%w %s", ErrNoAddress, name)
	}
	return a, nil
}

// route is the way a run's sessions reach the server over one
// transport: the address to dial (an impair proxy's when the run is
// impaired) and the proxy.
type route struct {
	addr string
	px   proxy // nil when not impaired
	// note says what the proxy could not inject ("" when everything).
	note string
}

// openRoute finds the transport's server address and, when imp injects
// anything, puts an impair proxy in front of it. close ends the proxy.
func openRoute(ctx context.Context, env *Env, name string, imp Impairment, seed int64) (route, error) {
	addr, err := env.Target.addrFor(name)
	if err != nil {
		return route{}, err
	}
	r := route{addr: addr}
	if imp.None() {
		return r, nil
	}
	tr, err := lookup(name)
	if err != nil {
		return route{}, err
	}
	if r.px, err = startProxy(ctx, env, tr.proxy, addr, imp, seed); err != nil {
		return route{}, fmt.Errorf("starting impairment proxy: %w", err)
	}
	r.addr = r.px.Addr()
	if rm := r.px.Removed(); rm != "" {
		r.note = "the TCP proxy can only delay/throttle: " + rm
	}
	return r, nil
}

func (r route) close() {
	if r.px != nil {
		_ = r.px.Close() // the impairment proxy ends with the run; its close error says nothing about the figures
	}
}

// dialOptions returns client options for a bench session over the
// tickwire transport name, dialling addr (the server's or a proxy's).
func dialOptions(env *Env, name, addr, token, sessionName string) client.Options {
	o := client.Options{Token: token, Name: sessionName, Version: "tickbench"}
	tr, err := lookup(name)
	if err == nil && tr.dial == nil {
		err = fmt.Errorf("%w: %q is a baseline, not a tickwire transport", ErrUnknownTransport, name)
	}
	if err != nil {
		o.Dial = func(context.Context) (netcode.Conn, error) { return nil, err }
		return o
	}
	o.Dial = tr.dial(env, env.Target, addr, token)
	return o
}

// channelOf is the channel the transport name carries echo requests and
// room inputs on.
func channelOf(name string) netcode.Channel {
	if t, err := lookup(name); err == nil {
		return t.channel
	}
	return netcode.Reliable
}

// noteStreamLoss says in the report, when loss was asked for, which of
// the run's transports went through a stream proxy that cannot inject it.
func noteStreamLoss(rep *Report, imp Impairment, names []string) {
	if imp.LossPct <= 0 {
		return
	}
	var stream []string
	for _, n := range names {
		if t, err := lookup(n); err == nil && t.proxy == proxyStream {
			stream = append(stream, n)
		}
	}
	if len(stream) > 0 {
		list := strings.Join(stream, ", ")
		rep.Notes = append(rep.Notes, "the TCP proxy can only delay and throttle a stream; packet loss is not injected on "+list+
			", so those rows show the delay/jitter setting only, not loss")
	}
}

func dialKCP(env *Env, _ Target, addr, _ string) client.DialFunc {
	return kcp.Dialer{Addr: addr, Config: env.KCP}.Dial
}

// openFleet returns the fleet that dials a room run's sessions over the
// tickwire transport name to addr (the server's or a proxy's).
func openFleet(env *Env, name, addr string, perSocket int) (*fleet, error) {
	tr, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if tr.dial == nil {
		return nil, fmt.Errorf("%w: %q is a baseline, not a tickwire transport", ErrUnknownTransport, name)
	}
	if tr.fleet != nil {
		return tr.fleet(env, addr, perSocket), nil
	}
	return soloFleet(func(ctx context.Context, token string) (netcode.Conn, error) {
		return tr.dial(env, env.Target, addr, token)(ctx)
	}), nil
}

// kcpFleet dials KCP sessions for a room run: perSocket of them share
// one kcp.ClientSocket (one UDP socket, one read loop and one timer
// loop, batched system calls).
func kcpFleet(env *Env, addr string, perSocket int) *fleet {
	return sharedFleet(perSocket, func() (clientSocket, error) {
		s, err := kcp.NewClientSocket("", env.KCP)
		if err != nil {
			return nil, err
		}
		return kcpSocket{s: s, addr: addr, plaintext: env.KCP.Plaintext}, nil
	})
}

// kcpSocket is a kcp.ClientSocket as a fleet uses it.
type kcpSocket struct {
	s         *kcp.ClientSocket
	addr      string
	plaintext bool
}

// prepare makes the handshake keys of n sealed dials ahead.
func (k kcpSocket) prepare(n int) error {
	if k.plaintext {
		return nil
	}
	return k.s.PrepareKeys(n)
}

func (k kcpSocket) dial(ctx context.Context, _ string) (netcode.Conn, error) {
	return kcp.Dialer{Addr: k.addr, Socket: k.s}.Dial(ctx)
}

func (k kcpSocket) close() error { return k.s.Close() }

// dialWebRTC dials the server's HTTP base for the offer; the data
// channels then go to its UDP port, or, when addr is an impair proxy in
// front of that port, to the proxy (see answerVia).
func dialWebRTC(_ *Env, t Target, addr, token string) client.DialFunc {
	d := webrtc.Dialer{URL: t.httpBase(), Token: token}
	if t.http != nil {
		d.HTTPClient = t.http
	}
	if addr == t.WebRTC {
		return d.Dial
	}
	d.HTTPClient = answerVia{server: t.WebRTC, proxy: addr, hc: t.http}
	return func(ctx context.Context) (netcode.Conn, error) {
		c, err := d.Dial(ctx)
		if err != nil {
			return nil, err
		}
		if got := c.RemoteAddr().String(); got != addr {
			_ = c.Close(netcode.CodeOK, "bypassed the impair proxy") // the bypass is the error reported
			return nil, fmt.Errorf("%w: ICE selected %s, not the impair proxy %s", ErrImpairBypassed, got, addr)
		}
		return c, nil
	}
}
