package webrtc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// verifyToken stands in for the engine's: "tok" is good, "expired" has
// expired, anything else is forged.
func verifyToken(_ context.Context, tok string) error {
	switch tok {
	case "tok":
		return nil
	case "expired":
		return netcode.Errorf(netcode.CodeTokenExpired, "token expired")
	}
	return netcode.Errorf(netcode.CodeBadToken, "bad signature")
}

func (l *Listener) pendingCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending
}

// Every offer refused at the door gets a coded JSON error and a counter,
// and no PeerConnection is created for it.
func TestOfferRefusedBeforeAnyPeerConnection(t *testing.T) {
	var admitFull atomic.Bool
	s := listenT(t, Config{MaxOfferBytes: 8 << 10}, netcode.Env{
		VerifyToken: verifyToken,
		Admit: func(net.Addr) error {
			if admitFull.Load() {
				return netcode.Errorf(netcode.CodeTooManySessions, "16 sessions from this address")
			}
			return nil
		},
	}, nil)
	offer := offerT(t)
	audio := strings.Replace(offer, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=audio 9 UDP/TLS/RTP/SAVPF 111", 1)
	require.NotEqual(t, offer, audio)
	noFingerprint := regexp.MustCompile(`(?m)^a=fingerprint:.*\r\n`).ReplaceAllString(offer, "")
	require.NotEqual(t, offer, noFingerprint)
	big := offer + strings.Repeat("a=x-padding:0123456789abcdef\r\n", 400)
	type chunked struct{ io.Reader } // hides the length: sent chunked

	tests := []struct {
		name, token, ctype string
		body               io.Reader
		admitFull          bool
		status             int
		code               netcode.Code
		refusal            string
	}{
		{"NoToken", "", SDPContentType, strings.NewReader(offer), false, 401, netcode.CodeNotAuthenticated, "unauthenticated"},
		{"ForgedToken", "forged", SDPContentType, strings.NewReader(offer), false, 401, netcode.CodeBadToken, "unauthenticated"},
		{"ExpiredToken", "expired", SDPContentType, strings.NewReader(offer), false, 401, netcode.CodeTokenExpired, "unauthenticated"},
		{"WrongContentType", "tok", "application/json", strings.NewReader(offer), false, 400, netcode.CodeBadRequest, "bad_offer"},
		{"Empty", "tok", SDPContentType, strings.NewReader(""), false, 400, netcode.CodeBadRequest, "bad_offer"},
		{"NotSDP", "tok", SDPContentType, strings.NewReader("v=0\r\nthis is not sdp\r\n"), false, 400, netcode.CodeBadRequest, "bad_offer"},
		{"AudioOnly", "tok", SDPContentType, strings.NewReader(audio), false, 400, netcode.CodeBadRequest, "bad_offer"},
		{"NoFingerprint", "tok", SDPContentType, strings.NewReader(noFingerprint), false, 400, netcode.CodeBadRequest, "bad_offer"},
		{"OversizedDeclared", "tok", SDPContentType, strings.NewReader(big), false, 413, netcode.CodeFrameTooLarge, "too_large"},
		{"OversizedChunked", "tok", SDPContentType, chunked{strings.NewReader(big)}, false, 413, netcode.CodeFrameTooLarge, "too_large"},
		{"AdmitRefuses", "tok", SDPContentType, strings.NewReader(offer), true, 503, netcode.CodeTooManySessions, "too_many_sessions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.l.ListenerStats()
			admitFull.Store(tt.admitFull)
			defer admitFull.Store(false)
			status, body := postT(t, s.url, tt.token, tt.ctype, tt.body)
			require.Equal(t, tt.status, status, "body %s", body)
			eb := refusalOf(t, body)
			assert.Equal(t, uint16(tt.code), eb.Code)
			assert.Equal(t, tt.code.String(), eb.Error)
			after := s.l.ListenerStats()
			assert.Equal(t, before.Refused[tt.refusal]+1, after.Refused[tt.refusal], "refusal counted")
			assert.Zero(t, after.HandshakesStarted, "no PeerConnection for a refused offer")
			assert.Zero(t, after.Sessions)
			assert.Zero(t, s.l.pendingCount(), "pending slot released")
		})
	}

	// The same offer with a good token does get a PeerConnection.
	status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offer))
	require.Equal(t, http.StatusCreated, status, "body %s", body)
	assert.Contains(t, string(body), "m=application")
	assert.Equal(t, uint64(1), s.l.ListenerStats().HandshakesStarted)
}

// Offers in flight and PeerConnections not yet open are capped per IP
// and over all clients.
func TestPendingCaps(t *testing.T) {
	t.Run("PerIP", func(t *testing.T) {
		s := listenT(t, Config{MaxPendingPerIP: 2, ConnectTimeout: time.Minute}, netcode.Env{}, nil)
		for i := 0; i < 2; i++ {
			status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offerT(t)))
			require.Equal(t, http.StatusCreated, status, "body %s", body)
		}
		status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offerT(t)))
		require.Equal(t, http.StatusServiceUnavailable, status)
		assert.Equal(t, uint16(netcode.CodeTooManySessions), refusalOf(t, body).Code)
		st := s.l.ListenerStats()
		assert.Equal(t, uint64(1), st.Refused["pending_per_ip"])
		assert.Equal(t, uint64(2), st.HandshakesStarted)
		assert.Equal(t, 2, st.Sessions)
	})
	t.Run("Global", func(t *testing.T) {
		s := listenT(t, Config{MaxPending: 2, ConnectTimeout: time.Minute}, netcode.Env{}, nil)
		for i := 0; i < 2; i++ {
			status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offerT(t)))
			require.Equal(t, http.StatusCreated, status, "body %s", body)
		}
		status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offerT(t)))
		require.Equal(t, http.StatusServiceUnavailable, status)
		assert.Equal(t, uint16(netcode.CodeServerBusy), refusalOf(t, body).Code)
		st := s.l.ListenerStats()
		assert.Equal(t, uint64(1), st.Refused["pending"])
		assert.Equal(t, uint64(2), st.HandshakesStarted)
	})
	t.Run("InFlight", func(t *testing.T) {
		// An offer whose body is still arriving holds its slot.
		s := listenT(t, Config{MaxPending: 1}, netcode.Env{}, nil)
		pr, pw := io.Pipe()
		first := make(chan int, 1)
		go func() {
			status, _ := postT(t, s.url, "tok", SDPContentType, pr)
			first <- status
		}()
		_, err := pw.Write([]byte("v=0\r\n"))
		require.NoError(t, err)
		// The handler takes its slot before it reads the body; nothing
		// signals that moment, so poll for it.
		require.Eventually(t, func() bool { return s.l.pendingCount() == 1 }, waitFor, time.Millisecond)
		status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offerT(t)))
		require.Equal(t, http.StatusServiceUnavailable, status)
		assert.Equal(t, uint16(netcode.CodeServerBusy), refusalOf(t, body).Code)
		require.NoError(t, pw.Close())
		assert.Equal(t, http.StatusBadRequest, <-first)
		assert.Zero(t, s.l.pendingCount())
		assert.Zero(t, s.l.ListenerStats().HandshakesStarted)
	})
}

// A client that posts an offer and never connects is closed after the
// connect timeout, counted, and leaves nothing behind.
func TestOfferNeverConnected(t *testing.T) {
	s := listenT(t, Config{ConnectTimeout: 300 * time.Millisecond}, netcode.Env{}, nil)
	start := time.Now()
	status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offerT(t)))
	require.Equal(t, http.StatusCreated, status, "body %s", body)
	assert.Equal(t, 1, s.l.SessionCount())
	require.Eventually(t, func() bool { return s.l.SessionCount() == 0 }, waitFor, 10*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	st := s.l.ListenerStats()
	assert.Equal(t, uint64(1), st.Refused["connect_timeout"])
	assert.Zero(t, st.Accepted)
	assert.Zero(t, s.l.pendingCount())
}

// gate is a socket that can stop hearing: every datagram read while deaf
// is thrown away.
type gate struct {
	net.PacketConn
	deaf atomic.Bool
}

func (g *gate) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := g.PacketConn.ReadFrom(p)
		if err != nil || !g.deaf.Load() {
			return n, a, err
		}
	}
}

// A session that hears nothing for IdleTimeout ends with ErrIdleTimeout.
func TestIdleTimeout(t *testing.T) {
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	g := &gate{PacketConn: uc}
	cfg := Config{HeartbeatInterval: 100 * time.Millisecond, IdleTimeout: time.Second}
	s := listenT(t, cfg, netcode.Env{}, &Transport{conn: g})
	c, err := dialT(t, s.url, cfg)
	require.NoError(t, err)
	srv := acceptT(t, s.l)
	sin, cin := conntest.Pump(t, srv), conntest.Pump(t, c)
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("hi")))
	require.NoError(t, conntest.Recv(t, sin, waitFor).Err)

	g.deaf.Store(true)
	start := time.Now()
	m := conntest.Recv(t, sin, waitFor)
	elapsed := time.Since(start)
	require.ErrorIs(t, m.Err, netcode.ErrIdleTimeout)
	assert.Equal(t, netcode.CodeIdleTimeout, netcode.CodeOf(m.Err))
	assert.GreaterOrEqual(t, elapsed, 900*time.Millisecond, "not before the idle timeout")
	assert.Less(t, elapsed, 3*time.Second)

	// pion sends nothing once ICE has failed, so no close message: the
	// client, hearing nothing either, times out on its own.
	m = conntest.Recv(t, cin, waitFor)
	require.ErrorIs(t, m.Err, netcode.ErrIdleTimeout)
}

// rewriteDoer edits the answer on its way to the client.
type rewriteDoer struct{ from, to string }

func (d rewriteDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(strings.NewReader(strings.ReplaceAll(string(b), d.from, d.to)))
	return resp, nil
}

// A peer that ignores our advertised max-message-size is closed with
// frame_too_large, on either channel.
func TestPeerMessageAboveLimitCloses(t *testing.T) {
	for _, ch := range []netcode.Channel{netcode.Reliable, netcode.Unreliable} {
		t.Run(ch.String(), func(t *testing.T) {
			s := listenT(t, Config{MaxMessageSize: 4000}, netcode.Env{}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			c, err := Dial(ctx, Dialer{URL: s.url, Token: "tok",
				Config:     Config{MaxMessageSize: 8000, Logger: testLogger(t)},
				HTTPClient: rewriteDoer{from: "a=max-message-size:4004", to: "a=max-message-size:8004"}})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
			srv := acceptT(t, s.l)
			sin, cin := conntest.Pump(t, srv), conntest.Pump(t, c)

			require.NoError(t, c.WriteMessage(ch, make([]byte, 4000)), "at the limit")
			m := conntest.Recv(t, sin, waitFor)
			require.NoError(t, m.Err)
			require.Len(t, m.Data, 4000)
			require.NoError(t, c.WriteMessage(ch, make([]byte, 4001)), "the client believes the forged limit")
			m = conntest.Recv(t, sin, waitFor)
			assert.Equal(t, netcode.CodeFrameTooLarge, netcode.CodeOf(m.Err), "server got %v", m.Err)
			assert.Equal(t, uint64(1), srv.Stats().Drops[netcode.DropTooLarge])
			m = conntest.Recv(t, cin, waitFor)
			var ce *netcode.CloseError
			require.True(t, errors.As(m.Err, &ce), "client got %v", m.Err)
			assert.Equal(t, netcode.CodeFrameTooLarge, ce.Code)
		})
	}
}

// A peer that opens a data channel beyond the two negotiated ones is
// closed with bad_request.
func TestUnexpectedDataChannelCloses(t *testing.T) {
	c, srv, _ := pair(t, Config{})
	sin, cin := conntest.Pump(t, srv), conntest.Pump(t, c)
	_, err := c.pc.CreateDataChannel("extra", nil)
	require.NoError(t, err)
	m := conntest.Recv(t, sin, waitFor)
	assert.Equal(t, netcode.CodeBadRequest, netcode.CodeOf(m.Err), "server got %v", m.Err)
	m = conntest.Recv(t, cin, waitFor)
	var ce *netcode.CloseError
	require.True(t, errors.As(m.Err, &ce), "client got %v", m.Err)
	assert.Equal(t, netcode.CodeBadRequest, ce.Code)
}

// Text that is not a close message, and unreliable messages too short
// for their header, are dropped and counted; the session goes on.
func TestMalformedMessagesDropped(t *testing.T) {
	c, srv, _ := pair(t, Config{})
	sin := conntest.Pump(t, srv)
	_, err := c.rel.WriteDataChannel([]byte(`{"type":"close","code":"x"}`), true)
	require.NoError(t, err)
	_, err = c.unrel.Write([]byte{1, 2})
	require.NoError(t, err)
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("still here")))
	m := conntest.Recv(t, sin, waitFor)
	require.NoError(t, m.Err)
	assert.Equal(t, "still here", string(m.Data))
	require.Eventually(t, func() bool { return srv.Stats().Drops[netcode.DropMalformed] == 2 }, waitFor, 5*time.Millisecond)
}

// A peer that stops reading makes reliable writes fail with
// slow_consumer after WriteTimeout, and unreliable ones drop.
func TestSlowConsumer(t *testing.T) {
	cfg := Config{MaxMessageSize: 16 << 10, MaxBuffered: 32 << 10, MaxUnreliableBuffered: 16 << 10,
		WriteTimeout: 300 * time.Millisecond, ReceiveBuffer: 64 << 10}
	c, srv, _ := pair(t, cfg)
	_ = c // never read: its reader stops at the first message, SCTP's window closes
	msg := make([]byte, 16<<10)
	var err error
	start := time.Now()
	for i := 0; i < 1000 && err == nil; i++ {
		err = srv.WriteMessage(netcode.Reliable, msg)
	}
	require.ErrorIs(t, err, netcode.ErrWriteTimeout)
	assert.Equal(t, netcode.CodeSlowConsumer, netcode.CodeOf(err))
	assert.Less(t, time.Since(start), waitFor)
	for i := 0; i < 100; i++ {
		require.NoError(t, srv.WriteMessage(netcode.Unreliable, msg[:1000]))
	}
	assert.Positive(t, srv.Stats().Drops[netcode.DropQueueFull], "unreliable dropped, not queued")
}

// Shutdown tells every peer server_shutdown and refuses offers after.
func TestShutdownTellsPeersAndRefusesOffers(t *testing.T) {
	c, _, s := pair(t, Config{})
	cin := conntest.Pump(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, s.l.Shutdown(ctx))
	m := conntest.Recv(t, cin, waitFor)
	var ce *netcode.CloseError
	require.True(t, errors.As(m.Err, &ce), "client got %v", m.Err)
	assert.Equal(t, netcode.CodeServerShutdown, ce.Code)
	status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader("v=0"))
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, uint16(netcode.CodeServerShutdown), refusalOf(t, body).Code)
	assert.Equal(t, uint64(1), s.l.ListenerStats().Refused["closed"])
	_, err := s.l.Accept()
	assert.ErrorIs(t, err, netcode.ErrClosed)
}

// Dial reports a refusal with the server's code.
func TestDialRefusedCarriesCode(t *testing.T) {
	s := listenT(t, Config{}, netcode.Env{VerifyToken: verifyToken}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := Dial(ctx, Dialer{URL: s.url, Token: "expired", Config: Config{Logger: testLogger(t)}})
	require.ErrorIs(t, err, netcode.ErrHandshake)
	assert.Equal(t, netcode.CodeTokenExpired, netcode.CodeOf(err))
	assert.Zero(t, s.l.ListenerStats().HandshakesStarted)
}

// PublicIPs replace the socket's address in the answer's candidates.
func TestPublicIPsInAnswer(t *testing.T) {
	s := listenT(t, Config{PublicIPs: []string{"203.0.113.7"}}, netcode.Env{}, nil)
	status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offerT(t)))
	require.Equal(t, http.StatusCreated, status, "body %s", body)
	_, port, err := net.SplitHostPort(s.l.Addr().String())
	require.NoError(t, err)
	assert.Contains(t, string(body), "203.0.113.7 "+port+" typ host")
	assert.NotContains(t, string(body), "127.0.0.1 "+port)
}

func TestConfig(t *testing.T) {
	require.NoError(t, Config{}.Validate())
	for name, c := range map[string]Config{
		"MaxMessageSizeTooBig":  {MaxMessageSize: MaxMessageSizeLimit + 1},
		"IdleNotAboveHeartbeat": {HeartbeatInterval: time.Second, IdleTimeout: time.Second},
		"NegativeTimeout":       {WriteTimeout: -1},
		"BufferBelowMessage":    {MaxMessageSize: 4096, MaxBuffered: 100},
		"ReceiveBelowMessage":   {MaxMessageSize: 4096, ReceiveBuffer: 100},
		"NegativeLimit":         {MaxPending: -1},
		"PublicIPNotIP":         {PublicIPs: []string{"example.com"}},
		"SCTPRTOMaxNegative":    {SCTPRTOMax: -time.Second},
		"SCTPRTOMaxTooBig":      {SCTPRTOMax: MaxSCTPRTOMax + 1},
	} {
		t.Run(name, func(t *testing.T) { require.ErrorIs(t, c.Validate(), ErrBadConfig) })
	}
	t.Run("NoHTTP", func(t *testing.T) {
		_, err := (&Transport{Addr: "127.0.0.1:0"}).Listen(netcode.Env{})
		require.ErrorIs(t, err, netcode.ErrNoHTTP)
	})
	t.Run("TimeoutsDifferFromEngine", func(t *testing.T) {
		_, err := (&Transport{Addr: "127.0.0.1:0", Config: Config{IdleTimeout: 3 * time.Second}}).Listen(
			netcode.Env{HTTP: http.NewServeMux(), HeartbeatInterval: time.Second, IdleTimeout: 10 * time.Second})
		require.Error(t, err)
	})
	t.Run("BadURL", func(t *testing.T) {
		_, err := Dial(context.Background(), Dialer{URL: "ftp://x"})
		require.ErrorIs(t, err, ErrBadConfig)
	})
	t.Run("EngineFrameLimit", func(t *testing.T) {
		s := listenT(t, Config{}, netcode.Env{MaxMessageSize: 16 << 10}, nil)
		status, body := postT(t, s.url, "tok", SDPContentType, strings.NewReader(offerT(t)))
		require.Equal(t, http.StatusCreated, status)
		assert.Contains(t, string(body), "a=max-message-size:16388")
	})
}

var _ = pion.NewAPI

// Datagrams on the shared UDP port that belong to no session (junk, a
// STUN check for an unknown ufrag) are counted and dropped: no
// PeerConnection, no session, and the port goes on serving real peers.
func TestStrayDatagramsOnTheUDPPort(t *testing.T) {
	s := listenT(t, Config{}, netcode.Env{}, nil)
	stranger, err := net.DialUDP("udp", nil, s.l.Addr().(*net.UDPAddr))
	require.NoError(t, err)
	defer stranger.Close()

	// A STUN binding request (RFC 8489) whose USERNAME names no session.
	user := []byte("nosuchufrag:peer")
	stunReq := binary.BigEndian.AppendUint16(nil, 0x0001)               // binding request
	stunReq = binary.BigEndian.AppendUint16(stunReq, 4+4)               // attributes' length
	stunReq = binary.BigEndian.AppendUint32(stunReq, 0x2112A442)        // magic cookie
	stunReq = append(stunReq, []byte("0123456789ab")...)                // transaction id
	stunReq = binary.BigEndian.AppendUint16(stunReq, 0x0006)            // USERNAME
	stunReq = binary.BigEndian.AppendUint16(stunReq, uint16(len(user))) //nolint:gosec // 16 bytes
	stunReq = append(stunReq, user...)
	binary.BigEndian.PutUint16(stunReq[2:], uint16(len(stunReq)-20)) //nolint:gosec // tiny
	stray := [][]byte{[]byte("not webrtc at all"), {0x16, 0xfe, 0xfd, 0, 0}, stunReq}
	for _, d := range stray {
		_, err := stranger.Write(d)
		require.NoError(t, err)
	}

	// A real peer connects through the same port after the strays: the
	// mux reads the socket in order, so they have been handled by then.
	c, err := dialT(t, s.url, Config{})
	require.NoError(t, err)
	srv := acceptT(t, s.l)
	st := s.l.ListenerStats()
	assert.GreaterOrEqual(t, st.Drops[netcode.DropUnauthenticated.String()], uint64(len(stray)), "stray datagrams counted")
	assert.Equal(t, uint64(1), st.HandshakesStarted, "strays create no PeerConnection")
	assert.Equal(t, 1, st.Sessions)
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("hello")))
	m := conntest.Recv(t, conntest.Pump(t, srv), waitFor)
	require.NoError(t, m.Err)
	assert.Equal(t, "hello", string(m.Data))
}
