package ws

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// server is a Listener mounted on a real loopback HTTP server with the
// assembly's HTTP timeouts (shortened), so that a test also shows that an
// upgraded connection outlives them.
type server struct {
	l   *Listener
	url string // ws://127.0.0.1:port/v1/ws
	hs  *httptest.Server
}

func startServer(t testing.TB, env netcode.Env, cfg Config) *server {
	t.Helper()
	l, err := NewListener(DefaultPath, env, cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET "+DefaultPath, l)
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.ReadHeaderTimeout = time.Second
	hs.Config.ReadTimeout = 2 * time.Second
	hs.Config.WriteTimeout = 2 * time.Second
	hs.Start()
	t.Cleanup(func() {
		require.NoError(t, l.Close())
		hs.Close()
	})
	return &server{l: l, url: "ws" + hs.URL[len("http"):] + DefaultPath, hs: hs}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pair dials s and accepts the server end.
func (s *server) pair(t testing.TB, cfg Config) (*Conn, *Conn) {
	t.Helper()
	c, err := Dial(ctxT(t), s.url, cfg)
	require.NoError(t, err)
	sc, err := s.l.AcceptWS()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = c.Close(netcode.CodeOK, "")
		_ = sc.Close(netcode.CodeOK, "")
	})
	return c, sc
}

// rawDial upgrades with the WebSocket library alone: a client that speaks
// WebSocket but not necessarily this transport.
func rawDial(t *testing.T, url string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	wc, resp, err := websocket.Dial(ctxT(t), url, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr}, HTTPHeader: hdr})
	if err == nil {
		t.Cleanup(func() { _ = wc.CloseNow() })
	}
	return wc, resp, err
}

// readClose reads wc until its close and returns the close status.
func readClose(t *testing.T, wc *websocket.Conn) websocket.CloseError {
	t.Helper()
	ctx := ctxT(t) // one bound for the whole wait: heartbeats keep arriving
	for {
		_, _, err := wc.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			require.ErrorAs(t, err, &ce, "want a close frame, got %v", err)
			return ce
		}
	}
}

// refusal reads a refused upgrade's JSON body.
func refusal(t *testing.T, resp *http.Response) httpapi.ErrorResponse {
	t.Helper()
	require.NotNil(t, resp)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body httpapi.ErrorResponse
	require.NoError(t, json.Unmarshal(b, &body), string(b))
	require.Equal(t, netcode.Code(body.Code).String(), body.Error)
	return body
}
