package ws

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

var _ netcode.Transport = (*Transport)(nil)

// DefaultPath is where a Transport with no Path mounts its upgrade route.
const DefaultPath = "/v1/ws"

// Transport is WebSocket as the server assembly opens it: a GET route on
// the assembly's one HTTP server.
type Transport struct {
	// Path is the upgrade route (default DefaultPath).
	Path string
	// Config tunes the connections; its HeartbeatInterval and IdleTimeout
	// must be zero (the engine's are used) or equal to the engine's, a
	// zero MaxMessageSize takes the engine's frame limit, and a nil
	// Logger takes the assembly's.
	Config Config
}

// Name is "ws".
func (t *Transport) Name() string { return transportName }

// Listen mounts "GET <Path>" on env.HTTP and returns the Listener behind
// it. Without an HTTP server it fails with netcode.ErrNoHTTP.
func (t *Transport) Listen(env netcode.Env) (netcode.Listener, error) {
	if env.HTTP == nil {
		return nil, netcode.ErrNoHTTP
	}
	cfg := t.Config
	if err := env.Configure(&cfg.HeartbeatInterval, &cfg.IdleTimeout, &cfg.Logger, &cfg.MaxMessageSize); err != nil {
		return nil, err
	}
	p := t.Path
	if p == "" {
		p = DefaultPath
	}
	l, err := NewListener(p, env, cfg)
	if err != nil {
		return nil, err
	}
	env.HTTP.Handle("GET "+p, l)
	return l, nil
}

// Dialer dials a WebSocket server: its Dial is what a client SDK takes as
// its dial function (client.Options.Dial).
type Dialer struct {
	// URL is the upgrade URL: "ws://host:7780/v1/ws" or "wss://...".
	URL string
	// Token, when set, is sent as "Authorization: Bearer" so that the
	// server checks it before the upgrade (the session's Hello carries it
	// again).
	Token string
	// Header adds request headers (an Origin, for tests of the policy).
	Header http.Header
	// TLSConfig is used for wss:// URLs (nil: the system roots).
	TLSConfig *tls.Config
	Config    Config
}

// Dial connects.
func (d Dialer) Dial(ctx context.Context) (netcode.Conn, error) {
	return netcode.AsConn(d.DialWS(ctx))
}

// Dial connects to url with cfg.
func Dial(ctx context.Context, url string, cfg Config) (*Conn, error) {
	return Dialer{URL: url, Config: cfg}.DialWS(ctx)
}

// maxRefusalBody caps the refusal body a client reads.
const maxRefusalBody = 1024

// DialWS is Dial returning the concrete type. A refused upgrade returns a
// *netcode.CodedError with the server's code (netcode.CodeOf) wrapping
// netcode.ErrHandshake.
func (d Dialer) DialWS(ctx context.Context) (*Conn, error) {
	cfg, err := d.Config.populate()
	if err != nil {
		return nil, err
	}
	// The http.Transport is the Conn's own, so that the socket under the
	// WebSocket is known (its deadlines bound writes and Close).
	var (
		mu       sync.Mutex
		captured net.Conn
	)
	nd := &net.Dialer{}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := nd.DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				captured = nc
				mu.Unlock()
			}
			return nc, err
		},
		TLSClientConfig:        d.TLSConfig,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
	defer tr.CloseIdleConnections()
	hdr := d.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	if d.Token != "" {
		hdr.Set("Authorization", "Bearer "+d.Token)
	}
	c := newConn(nil, &net.TCPAddr{}, cfg, nil)
	wc, resp, err := websocket.Dial(ctx, d.URL, &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: tr},
		HTTPHeader:      hdr,
		Subprotocols:    []string{Subprotocol},
		CompressionMode: websocket.CompressionDisabled,
		OnPingReceived:  func(context.Context, []byte) bool { c.onControl(); return true },
		OnPongReceived:  func(context.Context, []byte) { c.onControl() },
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, refusalError(resp, err)
		}
		return nil, fmt.Errorf("ws: dial %s: %w", d.URL, netcode.TLSFailure(err))
	}
	mu.Lock()
	nc := captured
	mu.Unlock()
	if nc == nil { // cannot happen: the upgrade went over a socket we dialed
		_ = wc.CloseNow()
		return nil, fmt.Errorf("ws: dial %s: no socket", d.URL)
	}
	c.nc = nc
	c.remote = nc.RemoteAddr()
	c.start(wc)
	return c, nil
}

// refusalError turns a refused upgrade into a coded error: the server's
// JSON body {"error", "code", "message"} when there is one, else a code
// from the HTTP status.
func refusalError(resp *http.Response, cause error) error {
	var b []byte
	if resp.Body != nil {
		b, _ = io.ReadAll(io.LimitReader(resp.Body, maxRefusalBody)) // best effort: the status is enough
		_ = resp.Body.Close()
	}
	code, msg, _ := httpapi.ReadError(resp.StatusCode, b)
	return &netcode.CodedError{Code: code, Msg: fmt.Sprintf("ws: upgrade refused (%d): %s", resp.StatusCode, msg),
		Err: fmt.Errorf("%w: %w", netcode.ErrHandshake, cause)}
}
