package ws

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// acceptOne accepts the next server Conn and reads it on a goroutine the
// test owns.
func acceptOne(t *testing.T, s *server) (*Conn, <-chan conntest.Msg) {
	t.Helper()
	sc, err := s.l.AcceptWS()
	require.NoError(t, err)
	return sc, conntest.Pump(t, sc)
}

// healthy shows the listener still serves a well-behaved client.
func healthy(t *testing.T, s *server) {
	t.Helper()
	c, sc := s.pair(t, Config{})
	in := conntest.Pump(t, sc)
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("still here")))
	m := conntest.Recv(t, in, 5*time.Second)
	require.NoError(t, m.Err)
	assert.Equal(t, "still here", string(m.Data))
}

// Each hostile message closes the connection with its code, the peer
// sees the code as a WebSocket close status, the drop is counted in the
// Conn and the Listener, and the server keeps serving others.
func TestHostileMessagesCloseWithCode(t *testing.T) {
	const limit = 1000
	for name, tc := range map[string]struct {
		typ  websocket.MessageType
		msg  []byte
		code netcode.Code
		drop netcode.DropReason
	}{
		"oversized":           {websocket.MessageBinary, make([]byte, MarkSize+limit+1), netcode.CodeFrameTooLarge, netcode.DropTooLarge},
		"far oversized":       {websocket.MessageBinary, make([]byte, 1<<20), netcode.CodeFrameTooLarge, netcode.DropTooLarge},
		"text":                {websocket.MessageText, []byte{markReliable, 'h', 'i'}, netcode.CodeBadFrame, netcode.DropMalformed}, // well marked, but text
		"empty":               {websocket.MessageBinary, []byte{}, netcode.CodeBadFrame, netcode.DropMalformed},
		"unknown mark":        {websocket.MessageBinary, []byte{9, 1, 2}, netcode.CodeBadFrame, netcode.DropMalformed},
		"heartbeat with body": {websocket.MessageBinary, []byte{markHeartbeat, 1}, netcode.CodeBadFrame, netcode.DropMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, netcode.Env{}, Config{MaxMessageSize: limit})
			wc, _, err := rawDial(t, s.url, nil)
			require.NoError(t, err)
			sc, in := acceptOne(t, s)
			require.NoError(t, wc.Write(ctxT(t), tc.typ, tc.msg))

			m := conntest.Recv(t, in, 5*time.Second)
			require.Error(t, m.Err)
			assert.Equal(t, tc.code, netcode.CodeOf(m.Err), "%v", m.Err)
			ce := readClose(t, wc)
			assert.Equal(t, statusOf(tc.code), ce.Code)
			assert.Equal(t, uint64(1), sc.Stats().Drops[tc.drop])
			assert.Equal(t, uint64(1), s.l.ListenerStats().Drops[tc.drop.String()])
			assert.LessOrEqual(t, cap(sc.buf), MarkSize+limit, "the read buffer stays within the limit")
			healthy(t, s)
		})
	}
}

// The Go client reads a server's oversized message as the same coded
// close: the limit holds on both ends.
func TestClientRefusesOversizedFromServer(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	c, sc := s.pair(t, Config{MaxMessageSize: 100})
	in := conntest.Pump(t, c)
	require.NoError(t, sc.WriteMessage(netcode.Reliable, make([]byte, 101)))
	m := conntest.Recv(t, in, 5*time.Second)
	assert.Equal(t, netcode.CodeFrameTooLarge, netcode.CodeOf(m.Err))
	sin := conntest.Pump(t, sc)
	m = conntest.Recv(t, sin, 5*time.Second)
	var ce *netcode.CloseError
	require.ErrorAs(t, m.Err, &ce)
	assert.Equal(t, netcode.CodeFrameTooLarge, ce.Code)
}

// rawUpgrade performs a WebSocket upgrade by hand over a TCP socket and
// returns the socket after the 101 answer.
func rawUpgrade(t *testing.T, s *server) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.hs.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", DefaultPath, s.hs.Listener.Addr())
	require.NoError(t, err)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Zero(t, br.Buffered())
	return nc
}

// Bytes after the upgrade that are no WebSocket frame close the
// connection with bad_frame; nothing is left behind.
func TestGarbageAfterUpgrade(t *testing.T) {
	for name, garbage := range map[string][]byte{
		"http request":   []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"unmasked frame": {0x82, 0x01, 0x00},
		"bad opcode":     {0x83, 0x80, 0, 0, 0, 0},
		"rsv bits":       {0xf2, 0x80, 0, 0, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, netcode.Env{}, Config{})
			nc := rawUpgrade(t, s)
			sc, in := acceptOne(t, s)
			_, err := nc.Write(garbage)
			require.NoError(t, err)
			m := conntest.Recv(t, in, 5*time.Second)
			assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(m.Err), "%v", m.Err)
			assert.Equal(t, uint64(1), sc.Stats().Drops[netcode.DropMalformed])
			require.NoError(t, sc.Close(netcode.CodeOK, ""))
			assert.Zero(t, s.l.ListenerStats().Sessions, "nothing left open")
			assert.Zero(t, s.l.Pending())
			healthy(t, s)
		})
	}
}

// A client that upgrades and never sends is closed with
// handshake_timeout, accepted or not, and gives its pending place back.
func TestSilentClientTimesOut(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{HandshakeTimeout: 200 * time.Millisecond})
	wc, _, err := rawDial(t, s.url, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, s.l.Pending())
	start := time.Now()
	ce := readClose(t, wc) // never accepted: the Conn's own timer closes it
	assert.Equal(t, statusOf(netcode.CodeHandshakeTimeout), ce.Code)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	// Accepted and read, still silent.
	wc2, _, err := rawDial(t, s.url, nil)
	require.NoError(t, err)
	_, in := acceptOne(t, s)
	m := conntest.Recv(t, in, 5*time.Second)
	assert.Equal(t, netcode.CodeHandshakeTimeout, netcode.CodeOf(m.Err))
	assert.ErrorIs(t, m.Err, netcode.ErrHandshake)
	assert.Equal(t, statusOf(netcode.CodeHandshakeTimeout), readClose(t, wc2).Code)
	require.Eventually(t, func() bool { return s.l.Pending() == 0 && s.l.ListenerStats().Sessions == 0 },
		5*time.Second, 5*time.Millisecond, "places given back")
}

// MaxPending caps upgraded connections that have not sent their first
// message; a first message frees the place.
func TestMaxPending(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{MaxPending: 2})
	var conns []*websocket.Conn
	for range 2 {
		wc, _, err := rawDial(t, s.url, nil)
		require.NoError(t, err)
		conns = append(conns, wc)
	}
	_, resp, err := rawDial(t, s.url, nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Equal(t, uint16(netcode.CodeServerBusy), refusal(t, resp).Code)
	assert.Equal(t, uint64(1), s.l.ListenerStats().Refused["pending"])

	// The Go client sees the code.
	_, err = Dial(ctxT(t), s.url, Config{})
	assert.Equal(t, netcode.CodeServerBusy, netcode.CodeOf(err))
	assert.ErrorIs(t, err, netcode.ErrHandshake)

	// Both upgraded connections wait for Accept, in an order the test does
	// not choose: take both, and find conns[0]'s first message on one.
	sc, in := acceptOne(t, s)
	sc2, in2 := acceptOne(t, s)
	require.NoError(t, conns[0].Write(ctxT(t), websocket.MessageBinary, []byte{markReliable, 'h'}))
	var m conntest.Msg
	select {
	case m = <-in:
	case m = <-in2:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "timed out waiting for the first message")
	}
	require.NoError(t, m.Err)
	assert.Equal(t, "h", string(m.Data))
	assert.Equal(t, 1, s.l.Pending())
	_ = sc2
	wc, _, err := rawDial(t, s.url, nil)
	require.NoError(t, err, "a first message frees a place")
	_ = wc
	_ = sc
}

// AcceptBacklog caps the upgraded connections nobody has accepted.
func TestAcceptBacklog(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{AcceptBacklog: 1})
	_, _, err := rawDial(t, s.url, nil)
	require.NoError(t, err)
	// The client has its 101 before the handler has queued the Conn.
	require.Eventually(t, func() bool { return len(s.l.queue) == 1 }, 5*time.Second, time.Millisecond)
	_, resp, err := rawDial(t, s.url, nil)
	require.Error(t, err)
	assert.Equal(t, uint16(netcode.CodeServerBusy), refusal(t, resp).Code)
	assert.Equal(t, uint64(1), s.l.ListenerStats().Refused["backlog"])
}

// Closing the Listener closes what it has not handed out and refuses
// later upgrades.
func TestListenerCloseClosesQueued(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	wc, _, err := rawDial(t, s.url, nil)
	require.NoError(t, err)
	require.NoError(t, s.l.Close())
	assert.Equal(t, statusOf(netcode.CodeServerShutdown), readClose(t, wc).Code)
	_, err = s.l.Accept()
	assert.ErrorIs(t, err, netcode.ErrClosed)
	_, resp, err := rawDial(t, s.url, nil)
	require.Error(t, err)
	assert.Equal(t, uint16(netcode.CodeServerShutdown), refusal(t, resp).Code)
	require.NoError(t, s.l.Close(), "idempotent")
}

func TestOriginPolicy(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{AllowedOrigins: []string{"*.example.com", "https://game.example.org"}})
	host := s.hs.Listener.Addr().String()
	for name, tc := range map[string]struct {
		origin string
		ok     bool
	}{
		"no origin (not a browser)": {"", true},
		"same host":                 {"http://" + host, true},
		"localhost any port":        {"http://localhost:3000", true},
		"127.0.0.1":                 {"https://127.0.0.1:8443", true},
		"ipv6 loopback":             {"http://[::1]:5173", true},
		"allowed pattern":           {"https://play.example.com", true},
		"allowed with scheme":       {"https://game.example.org", true},
		"pattern wrong scheme":      {"http://game.example.org", false},
		"foreign":                   {"https://evil.test", false},
		"suffix trick":              {"https://example.com.evil.test", false},
		"null":                      {"null", false},
		"garbage":                   {"::::", false},
	} {
		t.Run(name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.origin != "" {
				hdr.Set("Origin", tc.origin)
			}
			before := s.l.ListenerStats().Refused["origin"]
			c, err := Dialer{URL: s.url, Header: hdr}.DialWS(ctxT(t))
			if tc.ok {
				require.NoError(t, err)
				require.NoError(t, c.Close(netcode.CodeOK, ""))
				sc, err := s.l.AcceptWS()
				require.NoError(t, err)
				require.NoError(t, sc.Close(netcode.CodeOK, ""))
				return
			}
			require.Error(t, err)
			assert.Equal(t, netcode.CodeForbidden, netcode.CodeOf(err), "%v", err)
			assert.Equal(t, before+1, s.l.ListenerStats().Refused["origin"])
		})
	}
}

// The assembly's origins (netcode.Env.AllowedOrigins, the list the HTTP
// API's CORS applies) and the transport's own add up under the one rule,
// httpapi.OriginPolicy.
func TestOriginPolicySharedWithTheAssembly(t *testing.T) {
	s := startServer(t, netcode.Env{AllowedOrigins: []string{"https://game.example.com"}}, Config{AllowedOrigins: []string{"*.example.org"}})
	for origin, ok := range map[string]bool{
		"https://game.example.com":      true,
		"https://play.example.org":      true,
		"http://localhost:5173":         true,
		"http://game.example.com":       false,
		"http://localhost.evil.example": false,
		"http://127.0.0.1.evil.example": false,
		"null":                          false,
	} {
		t.Run(origin, func(t *testing.T) {
			c, err := Dialer{URL: s.url, Header: http.Header{"Origin": {origin}}}.DialWS(ctxT(t))
			if !ok {
				require.Error(t, err)
				assert.Equal(t, netcode.CodeForbidden, netcode.CodeOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
			require.NoError(t, c.Close(netcode.CodeOK, ""))
			sc, err := s.l.AcceptWS()
			require.NoError(t, err)
			require.NoError(t, sc.Close(netcode.CodeOK, ""))
		})
	}
	_, err := NewListener(DefaultPath, netcode.Env{AllowedOrigins: []string{"https://*.x.*"}}, Config{})
	assert.ErrorIs(t, err, ErrBadConfig)
}

// Requests that are no WebSocket upgrade get 426 with a coded body.
func TestNotAnUpgrade(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	resp, err := http.Get(s.hs.URL + DefaultPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUpgradeRequired, resp.StatusCode)
	assert.Equal(t, uint16(netcode.CodeBadRequest), refusal(t, resp).Code)
	assert.Equal(t, uint64(1), s.l.ListenerStats().Refused["not_websocket"])
}

// A token presented before the upgrade is checked there; the engine's
// session caps are applied there; neither allocates a connection.
func TestRefusedBeforeUpgrade(t *testing.T) {
	verify := func(_ context.Context, tok string) error {
		switch tok {
		case "good":
			return nil
		case "old":
			return netcode.Errorf(netcode.CodeTokenExpired, "token expired")
		}
		return netcode.Errorf(netcode.CodeBadToken, "bad token")
	}
	full := errors.New("unused")
	admitErr := &full
	env := netcode.Env{VerifyToken: verify, Admit: func(net.Addr) error { return *admitErr }}
	*admitErr = nil
	s := startServer(t, env, Config{RequireToken: true})

	for name, tc := range map[string]struct {
		d      Dialer
		protos []string // offered subprotocols (a browser's way): dial with the library
		code   netcode.Code
	}{
		"no token":         {Dialer{}, nil, netcode.CodeNotAuthenticated},
		"bad token":        {Dialer{Token: "forged"}, nil, netcode.CodeBadToken},
		"expired token":    {Dialer{Token: "old"}, nil, netcode.CodeTokenExpired},
		"bad subprotocol":  {Dialer{}, []string{Subprotocol, BearerProtocolPrefix + "forged"}, netcode.CodeBadToken},
		"not bearer":       {Dialer{Header: http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}}}, nil, netcode.CodeBadToken},
		"token too long":   {Dialer{Token: strings.Repeat("a", MaxTokenSize+1)}, nil, netcode.CodeBadToken},
		"good header":      {Dialer{Token: "good"}, nil, netcode.CodeOK},
		"good subprotocol": {Dialer{}, []string{Subprotocol, BearerProtocolPrefix + "good"}, netcode.CodeOK},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			var closeClient func()
			if tc.protos != nil {
				var wc *websocket.Conn
				var resp *http.Response
				wc, resp, err = websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{Subprotocols: tc.protos})
				if err != nil {
					err = refusalError(resp, err)
				} else {
					assert.Equal(t, Subprotocol, wc.Subprotocol(), "the server selects tickwire.v1, never the bearer")
					closeClient = func() { _ = wc.CloseNow() }
				}
			} else {
				tc.d.URL = s.url
				var c *Conn
				c, err = tc.d.DialWS(ctxT(t))
				if err == nil {
					closeClient = func() { _ = c.Close(netcode.CodeOK, "") }
				}
			}
			if tc.code == netcode.CodeOK {
				require.NoError(t, err)
				closeClient()
				sc, err := s.l.AcceptWS()
				require.NoError(t, err)
				require.NoError(t, sc.Close(netcode.CodeOK, ""))
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.code, netcode.CodeOf(err), "%v", err)
		})
	}
	assert.Equal(t, uint64(6), s.l.ListenerStats().Refused["token"])

	*admitErr = netcode.Errorf(netcode.CodeTooManySessions, "too many sessions from your address")
	_, err := Dialer{URL: s.url, Token: "good"}.DialWS(ctxT(t))
	assert.Equal(t, netcode.CodeTooManySessions, netcode.CodeOf(err))
	assert.Equal(t, uint64(1), s.l.ListenerStats().Refused["sessions"])
	assert.Equal(t, uint64(2), s.l.ListenerStats().HandshakesStarted, "refusals upgraded nothing")
}

// The server Conn's RemoteAddr is the client address the assembly's rule
// gives (a trusted proxy's forwarded address), not the socket's peer.
func TestRemoteAddrFromEnv(t *testing.T) {
	client := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 4242}
	var admitted net.Addr
	env := netcode.Env{
		ClientAddr: func(*http.Request) net.Addr { return client },
		Admit:      func(a net.Addr) error { admitted = a; return nil },
	}
	s := startServer(t, env, Config{})
	c, sc := s.pair(t, Config{})
	assert.Equal(t, client, sc.RemoteAddr())
	assert.Equal(t, client, admitted)
	assert.Equal(t, sc.LocalAddr().String(), c.RemoteAddr().String())
}
