package kcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

var _ netcode.Transport = (*Transport)(nil)

// DefaultAddr is the address a Transport with no Addr listens on.
const DefaultAddr = ":7777"

// InfoPath is where the server assembly's HTTP API publishes the KCP
// listener's port and static public key (Info), so that a client that
// trusts the HTTP API (TLS) can pin the key: FetchInfo, DialerFromHTTP.
const InfoPath = "/v1/kcp"

// Info is the JSON document at InfoPath.
type Info struct {
	// Port is the UDP port the KCP listener serves (on the HTTP API's
	// host); Addr its listening address as configured.
	Port int    `json:"port"`
	Addr string `json:"addr"`
	// PublicKey is the listener's static X25519 public key
	// (EncodePublicKey's base64).
	PublicKey string `json:"public_key"`
	// Version is the KCP protocol version (2: sealed datagrams).
	Version int `json:"version"`
	// PlaintextAllowed says whether the listener accepts sessions that
	// ask for no encryption (benchmarks only).
	PlaintextAllowed bool `json:"plaintext_allowed"`
}

// Transport is KCP as the server assembly opens it: one UDP socket on
// Addr for every session, reliable and unreliable channels on it.
type Transport struct {
	// Addr is the UDP address to listen on (default DefaultAddr; port 0 picks one).
	Addr string
	// Config tunes the listener; its HeartbeatInterval and IdleTimeout
	// must be zero (the engine's are used) or equal to the engine's, and
	// a nil Logger takes the assembly's.
	Config Config
	// KeyFile, when Config.Key is nil, is where the listener's static key
	// is kept (LoadOrCreateKeyFile: created on first start, mode 0600),
	// so that clients that pinned it keep it across restarts. Empty: a
	// new key per start.
	KeyFile string
}

// Name is "kcp".
func (t *Transport) Name() string { return "kcp" }

// Listen opens the UDP socket and, when the assembly has an HTTP
// server, publishes Info at GET InfoPath.
func (t *Transport) Listen(env netcode.Env) (netcode.Listener, error) {
	cfg := t.Config
	if err := env.Configure(&cfg.HeartbeatInterval, &cfg.IdleTimeout, &cfg.Logger, nil); err != nil {
		return nil, err
	}
	if cfg.Key == nil && t.KeyFile != "" {
		k, err := LoadOrCreateKeyFile(t.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Key = k
	}
	addr := t.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	l, err := Listen(addr, cfg)
	if err != nil {
		return nil, err
	}
	if env.HTTP != nil {
		info := l.Info()
		env.HTTP.Handle("GET "+InfoPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(info) // a failed write is the client's loss
		}))
	}
	return l, nil
}

// Info describes the listener for clients (InfoPath).
func (l *Listener) Info() Info {
	i := Info{Addr: l.Addr().String(), PublicKey: EncodePublicKey(l.PublicKey()), Version: protocolVersion,
		PlaintextAllowed: l.ep.cfg.AllowPlaintext}
	if u, ok := l.Addr().(*net.UDPAddr); ok {
		i.Port = u.Port
	}
	return i
}

// Dialer dials a KCP server: its Dial is what a client SDK takes as its
// dial function (client.Options.Dial).
type Dialer struct {
	Addr   string // the server's UDP address
	Config Config
	// Socket, when set, carries the session on a shared ClientSocket
	// (whose own Config then applies) instead of a socket of its own.
	Socket *ClientSocket
}

// Dial connects and completes the handshake.
func (d Dialer) Dial(ctx context.Context) (netcode.Conn, error) {
	if d.Socket != nil {
		return netcode.AsConn(d.Socket.Dial(ctx, d.Addr))
	}
	return netcode.AsConn(Dial(ctx, d.Addr, d.Config))
}

// FetchInfo reads the KCP listener's Info from the server's HTTP API at
// httpBase ("https://game.example.com"). hc nil means a client with a
// 10 s timeout.
func FetchInfo(ctx context.Context, hc *http.Client, httpBase string) (Info, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	var info Info
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(httpBase, "/")+InfoPath, nil)
	if err != nil {
		return info, fmt.Errorf("kcp: info: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return info, fmt.Errorf("kcp: info: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return info, fmt.Errorf("kcp: info: GET %s: %s", req.URL, resp.Status)
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 4<<10)).Decode(&info); err != nil {
		return info, fmt.Errorf("kcp: info: %w", err)
	}
	return info, nil
}

// DialerFromHTTP builds a Dialer for the server whose HTTP API is at
// httpBase: it fetches Info (with hc; nil: a default client) and pins
// the server's key (cfg.ServerKey).
// addr "" dials Info's port on httpBase's host. It is how a client that
// trusts the HTTP API (over TLS) gets a KCP session only the real server
// can answer.
func DialerFromHTTP(ctx context.Context, hc *http.Client, httpBase, addr string, cfg Config) (Dialer, error) {
	info, err := FetchInfo(ctx, hc, httpBase)
	if err != nil {
		return Dialer{}, err
	}
	key, err := ParsePublicKey(info.PublicKey)
	if err != nil {
		return Dialer{}, err
	}
	cfg.ServerKey = key
	if addr == "" {
		u, err := url.Parse(httpBase)
		if err != nil || u.Hostname() == "" {
			return Dialer{}, fmt.Errorf("kcp: HTTP base %q has no host: %w", httpBase, ErrConfig)
		}
		addr = net.JoinHostPort(u.Hostname(), strconv.Itoa(info.Port))
	}
	return Dialer{Addr: addr, Config: cfg}, nil
}
