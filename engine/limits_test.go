package engine

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/internal/peertest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
)

// netServer is an engine serving a real KCP and a real TCP listener on
// 127.0.0.1.
type netServer struct {
	t   *testing.T
	e   *Engine
	kcp *kcp.Listener
	tcp *tcp.Listener
}

func startNet(t *testing.T, cfg Config) *netServer {
	t.Helper()
	if cfg.CloseLinger == 0 {
		cfg.CloseLinger = 20 * time.Millisecond
	}
	e, err := New(cfg)
	require.NoError(t, err)
	kl, err := kcp.Listen("127.0.0.1:0", kcp.Config{})
	require.NoError(t, err)
	tl, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
	require.NoError(t, err)
	require.NoError(t, e.Serve(kl))
	require.NoError(t, e.Serve(tl))
	run := make(chan error, 1)
	go func() { run <- e.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		assert.NoError(t, e.Shutdown(ctx))
		assert.ErrorIs(t, <-run, ErrServerClosed)
		assert.NoError(t, kl.Shutdown(ctx))
	})
	return &netServer{t: t, e: e, kcp: kl, tcp: tl}
}

// dial connects over transport ("kcp" or "tcp") without reading.
func (s *netServer) dial(transport string) netcode.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var c netcode.Conn
	var err error
	switch transport {
	case "kcp":
		c, err = kcp.Dial(ctx, s.kcp.Addr().String(), kcp.Config{})
	case "tcp":
		c, err = tcp.Dial(ctx, s.tcp.Addr().String(), tcp.Config{})
	default:
		s.t.Fatalf("unknown transport %q", transport)
	}
	require.NoError(s.t, err)
	return c
}

// session dials and authenticates.
func (s *netServer) session(transport, name string) *peertest.Peer {
	s.t.Helper()
	p := peertest.New(s.t, s.dial(transport), wait).Pump()
	tok, _, err := s.e.Signer().Issue(authClaims(name), time.Now(), time.Hour)
	require.NoError(s.t, err)
	p.Hello(tok)
	return p
}

// expectRefused reads a connection the engine must refuse: the first and
// only thing to arrive is the transport's close with too_many_sessions
// (no Welcome, no frame at all).
func (s *netServer) expectRefused(transport string) {
	s.t.Helper()
	c := s.dial(transport)
	msgs := conntest.Pump(s.t, c)
	m := conntest.Recv(s.t, msgs, wait)
	var ce *netcode.CloseError
	require.ErrorAs(s.t, m.Err, &ce, "a refused connection gets no frame (got %d bytes on %s)", len(m.Data), m.Ch)
	assert.Equal(s.t, netcode.CodeTooManySessions, ce.Code)
	assert.True(s.t, ce.Code.MayReconnect())
}

func ping(t *testing.T, p *peertest.Peer) {
	t.Helper()
	p.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: 1})
	p.NextKind(frame.KindPong, nil)
}

// The (N+1)th session from one address is refused with
// too_many_sessions on every transport, the server stays healthy, and a
// session that ends gives its place back.
func TestMaxSessionsPerIP(t *testing.T) {
	for _, transport := range []string{"kcp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			s := startNet(t, Config{MaxSessionsPerIP: 3})
			peers := []*peertest.Peer{s.session(transport, "a"), s.session(transport, "b"), s.session(transport, "c")}
			s.expectRefused(transport)
			st := s.e.Stats()
			assert.EqualValues(t, 1, st.SessionsRefused["per_ip"])
			assert.Zero(t, st.SessionsRefused["global"])
			assert.EqualValues(t, 3, st.Handshakes, "the refused connection never got a Welcome")
			ping(t, peers[0]) // the server stays healthy

			require.NoError(t, peers[2].Conn.Close(netcode.CodeOK, "bye"))
			// real sockets: synctest cannot see network I/O
			require.Eventually(t, func() bool { return s.e.Stats().SessionsOpen == 2 }, wait, time.Millisecond)
			ping(t, s.session(transport, "d"))
			s.expectRefused(transport)
			assert.EqualValues(t, 2, s.e.Stats().SessionsRefused["per_ip"])
		})
	}
}

// Both caps count sessions on every transport together.
func TestSessionCapsSpanTransports(t *testing.T) {
	t.Run("per ip", func(t *testing.T) {
		s := startNet(t, Config{MaxSessionsPerIP: 2})
		s.session("kcp", "a")
		s.session("tcp", "b")
		s.expectRefused("kcp")
		s.expectRefused("tcp")
		assert.EqualValues(t, 2, s.e.Stats().SessionsRefused["per_ip"])
	})
	t.Run("global", func(t *testing.T) {
		s := startNet(t, Config{MaxSessions: 2, MaxSessionsPerIP: -1})
		a := s.session("kcp", "a")
		s.session("tcp", "b")
		s.expectRefused("tcp")
		s.expectRefused("kcp")
		st := s.e.Stats()
		assert.EqualValues(t, 2, st.SessionsRefused["global"])
		assert.Zero(t, st.SessionsRefused["per_ip"])
		ping(t, a)
	})
	t.Run("negative lifts the caps", func(t *testing.T) {
		s := startNet(t, Config{MaxSessions: -1, MaxSessionsPerIP: -1})
		for range 4 {
			s.session("tcp", "x")
		}
		assert.Zero(t, s.e.Stats().SessionsRefused["per_ip"]+s.e.Stats().SessionsRefused["global"])
	})
}

func TestSessionCapDefaults(t *testing.T) {
	e, err := New(Config{})
	require.NoError(t, err)
	assert.Equal(t, DefaultMaxSessionsPerIP, e.Config().MaxSessionsPerIP)
	assert.Equal(t, DefaultMaxSessions, e.Config().MaxSessions)
	assert.Equal(t, DefaultRateLimitGrace, e.Config().RateLimitGrace)
}

func TestIPKey(t *testing.T) {
	cases := map[string]struct {
		addr net.Addr
		want string // "" = not capped per IP
	}{
		"udp v4":        {&net.UDPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 9}, "10.1.2.3"},
		"tcp v4":        {&net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 9}, "10.1.2.3"},
		"v4 mapped v6":  {&net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 9}, "10.1.2.3"},
		"v6 is its /64": {&net.UDPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), Port: 9, Zone: "eth0"}, "2001:db8:1:2::"},
		"string addr":   {memAddr("192.0.2.7:4000"), "192.0.2.7"},
		"no ip":         {memAddr("remote"), ""},
		"nil":           {nil, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := ipKey(tc.addr)
			if tc.want == "" {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, netip.MustParseAddr(tc.want), got)
		})
	}
}

// A client that floods past the frame rate over a real socket is never
// closed with too_many_errors (which forbids reconnecting): its excess
// is dropped, answered at a bounded rate, and once it has lasted
// RateLimitGrace the session closes with rate_limited, which may
// reconnect. Other sessions are unaffected.
func TestRateLimitFloodLoopback(t *testing.T) {
	for _, transport := range []string{"kcp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			const fps, grace = 20, 300 * time.Millisecond
			s := startNet(t, Config{MaxFramesPerSecond: fps, RateLimitGrace: grace, MaxBadFrames: 3})
			other := s.session(transport, "calm")

			c := s.dial(transport)
			msgs := conntest.Pump(t, c)
			tok, _, err := s.e.Signer().Issue(authClaims("flood"), time.Now(), time.Hour)
			require.NoError(t, err)
			hello, err := frame.Marshal(&frame.Hello{Version: frame.ProtocolVersion, Token: tok})
			require.NoError(t, err)
			require.NoError(t, c.WriteMessage(netcode.Reliable, hello))
			pingFrame := mustMarshal(t, &frame.Ping{ClientTimeUs: 1})

			start := time.Now()
			tick := time.NewTicker(time.Millisecond) // ~1000 frames/s: 50 times the limit
			defer tick.Stop()
			timeout := time.After(wait)
			var errs int
			var closeFrame *frame.Close
			for closeFrame == nil {
				select {
				case <-tick.C:
					if err := c.WriteMessage(netcode.Reliable, pingFrame); err != nil {
						require.Fail(t, "connection ended before a Close frame", "%v", err)
					}
				case m := <-msgs:
					require.NoError(t, m.Err, "connection ended before a Close frame")
					k, err := frame.Peek(m.Data)
					require.NoError(t, err)
					switch k {
					case frame.KindError:
						var e frame.Error
						require.NoError(t, frame.Unmarshal(m.Data, &e))
						require.Equal(t, netcode.CodeRateLimited, e.Code, e.Message)
						errs++
					case frame.KindClose:
						closeFrame = &frame.Close{}
						require.NoError(t, frame.Unmarshal(m.Data, closeFrame))
					}
				case <-timeout:
					require.FailNow(t, "flooding session never closed")
				}
			}
			elapsed := time.Since(start)
			assert.Equal(t, netcode.CodeRateLimited, closeFrame.Code, closeFrame.Reason)
			assert.True(t, closeFrame.Code.MayReconnect())
			assert.GreaterOrEqual(t, elapsed, grace)
			// Answers are bounded: the burst, then rateLimitedAnswers a second
			// (one more for the Error sent with the close).
			maxErrs := rateLimitedAnswers + int(elapsed.Seconds()*rateLimitedAnswers) + 2
			assert.LessOrEqual(t, errs, maxErrs)
			st := s.e.Stats()
			assert.Greater(t, st.Drops["rate_limited"], uint64(3*rateLimitedAnswers), "far more frames dropped than answered")
			assert.Zero(t, st.Closes["too_many_errors"])
			ping(t, other) // other sessions are unaffected
		})
	}
}

// The rate limit in fake time: excess frames are dropped and answered at
// most rateLimitedAnswers a second, they never count as bad frames, a
// short burst is forgiven, and sustained excess closes with rate_limited.
func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{MaxFramesPerSecond: 5, MaxBadFrames: 3, RateLimitGrace: 2 * time.Second})
		p := h.dial(256)
		p.Hello(h.token("dave", time.Hour)) // 1 of 5
		for i := range 4 {
			p.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: int64(i)})
			p.NextKind(frame.KindPong, nil)
		}
		for i := range 5 { // over the rate, more than MaxBadFrames of them
			p.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: int64(10 + i)})
		}
		p.ExpectError(netcode.CodeRateLimited)
		p.ExpectError(netcode.CodeRateLimited)
		time.Sleep(time.Second) // every goroutine idle, then the clock moves: the bucket refills
		p.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: 99})
		var pong frame.Pong
		p.NextKind(frame.KindPong, &pong) // the 3 other refusals went unanswered
		assert.EqualValues(t, 99, pong.ClientTimeUs)
		st := h.e.Stats()
		assert.EqualValues(t, 5, st.Drops["rate_limited"])
		assert.EqualValues(t, 2, st.Errors["rate_limited"])
		assert.EqualValues(t, 1, st.SessionsOpen)

		// 25 frames a second against a limit of 5, until the session closes.
		var closedAt time.Time
		var floodStart time.Time
		for step := 0; step < 40 && closedAt.IsZero(); step++ {
			for i := range 5 {
				if err := p.Conn.WriteMessage(netcode.Reliable, mustMarshal(t, &frame.Ping{ClientTimeUs: int64(i)})); err != nil {
					closedAt = time.Now()
					break
				}
			}
			if floodStart.IsZero() {
				floodStart = time.Now()
			}
			time.Sleep(200 * time.Millisecond)
			if h.e.Stats().Closes["rate_limited"] == 1 {
				closedAt = time.Now()
			}
		}
		require.False(t, closedAt.IsZero(), "a sustained flood was never closed")
		assert.GreaterOrEqual(t, closedAt.Sub(floodStart), 2*time.Second, "closed before RateLimitGrace")
		assert.LessOrEqual(t, closedAt.Sub(floodStart), 3*time.Second)
		var c frame.Close
		for {
			m := p.Next()
			k, err := frame.Peek(m.Data)
			require.NoError(t, err)
			if k == frame.KindClose {
				require.NoError(t, frame.Unmarshal(m.Data, &c))
				break
			}
			require.Contains(t, []frame.Kind{frame.KindPong, frame.KindError}, k)
		}
		assert.Equal(t, netcode.CodeRateLimited, c.Code)
		assert.True(t, c.Code.MayReconnect())
		assert.Zero(t, h.e.Stats().Closes["too_many_errors"])
	})
}

func mustMarshal(t *testing.T, f frame.Frame) []byte {
	t.Helper()
	b, err := frame.Marshal(f)
	require.NoError(t, err)
	return b
}

// A spoofed or garbage datagram sent to the KCP listener shows up in the
// engine's stats, beside the listener's handshakes and the TCP
// listener's connections.
func TestListenerStatsInEngineStats(t *testing.T) {
	s := startNet(t, Config{})
	s.session("kcp", "a")
	s.session("tcp", "b")

	raw, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer func() { require.NoError(t, raw.Close()) }()
	kaddr := s.kcp.Addr().String()
	// A session datagram (type 0x10) with a token nobody holds, as a
	// spoofed source would send, and one byte of garbage.
	spoofed := append([]byte{0x10, 1, 2, 3, 4, 5, 6, 7, 8}, make([]byte, 40)...)
	for _, b := range [][]byte{spoofed, {0xff}} {
		_, err := raw.WriteTo(b, s.kcp.Addr())
		require.NoError(t, err)
	}
	key := "kcp/" + kaddr
	// real sockets: synctest cannot see network I/O
	require.Eventually(t, func() bool {
		ls := s.e.ServiceStats().Listeners[key]
		return ls.Drops["unauthenticated"]+ls.Drops["malformed"] >= 2
	}, wait, time.Millisecond)

	st := s.e.ServiceStats()
	k := st.Listeners[key]
	assert.Equal(t, "kcp", k.Transport)
	assert.EqualValues(t, 1, k.Accepted)
	assert.GreaterOrEqual(t, k.HandshakesStarted, uint64(1))
	assert.Equal(t, 1, k.Sessions)
	tl := st.Listeners["tcp/"+s.tcp.Addr().String()]
	assert.Equal(t, "tcp", tl.Transport)
	assert.EqualValues(t, 1, tl.Accepted)
	assert.Equal(t, 1, tl.Sessions)
	assert.Contains(t, st.SessionsRefused, "per_ip")
}

func authClaims(name string) auth.Claims { return auth.Claims{UserID: "u_" + name, Name: name} }
