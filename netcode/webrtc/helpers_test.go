package webrtc

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

const waitFor = 10 * time.Second

// testLogger logs through t.Logf at debug level when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

// server is a listener on 127.0.0.1 with its own HTTP server.
type server struct {
	l   *Listener
	url string
}

// listenT starts a listener and an HTTP server for it; cleanup shuts
// both down and checks that nothing is left.
func listenT(t testing.TB, cfg Config, env netcode.Env, tr *Transport) *server {
	t.Helper()
	mux := http.NewServeMux()
	env.HTTP = mux
	if env.HeartbeatInterval == 0 && env.IdleTimeout == 0 { // the engine would advertise these
		env.HeartbeatInterval, env.IdleTimeout = cfg.HeartbeatInterval, cfg.IdleTimeout
	}
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	if tr == nil {
		tr = &Transport{}
	}
	if tr.Addr == "" {
		tr.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	tr.Config = cfg
	l, err := tr.listen(env)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, l.Shutdown(ctx))
		require.Zero(t, l.SessionCount())
	})
	return &server{l: l, url: ts.URL}
}

func dialT(t testing.TB, url string, cfg Config) (*Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c, err := Dial(ctx, Dialer{URL: url, Token: "tok", Config: cfg})
	if err == nil {
		t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
	}
	return c, err
}

func acceptT(t testing.TB, l *Listener) *Conn {
	t.Helper()
	return conntest.Accept(t, l, waitFor).(*Conn)
}

// pair returns a dialed client and the server's accepted Conn.
func pair(t testing.TB, cfg Config) (client, srv *Conn, s *server) {
	t.Helper()
	s = listenT(t, cfg, netcode.Env{}, nil)
	c, err := dialT(t, s.url, cfg)
	require.NoError(t, err)
	return c, acceptT(t, s.l), s
}

// offerT returns a valid offer from a real PeerConnection that will never
// connect (it is closed at cleanup without seeing the answer).
func offerT(t testing.TB) string {
	t.Helper()
	cfg, err := Config{Logger: testLogger(t)}.populate()
	require.NoError(t, err)
	se := settingEngine(cfg, newPionLogs(cfg.Logger), true)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := pion.NewAPI(pion.WithSettingEngine(se)).NewPeerConnection(pion.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, pc.GracefulClose()) })
	_, _, err = createChannels(pc)
	require.NoError(t, err)
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	gathered := pion.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(offer))
	select {
	case <-gathered:
	case <-time.After(waitFor):
		require.FailNow(t, "gathering timed out")
	}
	return pc.LocalDescription().SDP
}

// postT posts body to the offer endpoint and returns the status and body.
func postT(t testing.TB, url, token, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+OfferPath, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// refusalOf decodes an error body.
func refusalOf(t testing.TB, b []byte) httpapi.ErrorResponse {
	t.Helper()
	var eb httpapi.ErrorResponse
	require.NoError(t, json.Unmarshal(b, &eb), "body %q", b)
	return eb
}
