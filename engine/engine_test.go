package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/internal/peertest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/frame"
)

// TestMain checks for leaked goroutines (kcp-go's process-wide workers,
// started by the loopback tests, excepted).
func TestMain(m *testing.M) { conntest.VerifyTestMain(m) }

const wait = 5 * time.Second

// testReq is the frame the test service owns: [20, ref, action, n].
type testReq struct {
	Ref    uint32
	Action uint8
	N      uint32
}

const kindTest frame.Kind = 20

func (*testReq) Kind() frame.Kind    { return kindTest }
func (r *testReq) SetRef(ref uint32) { r.Ref = ref }
func (r *testReq) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := frame.W{Enc: enc}
	w.Begin(kindTest, 3)
	w.Uint(uint64(r.Ref))
	w.Uint(uint64(r.Action))
	w.Uint(uint64(r.N))
	return w.Err()
}
func (r *testReq) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := frame.Begin(dec, kindTest, 3)
	r.Ref = uint32(f.Uint("ref", math.MaxUint32))
	r.Action = uint8(f.Uint("action", 255))
	r.N = uint32(f.Uint("n", math.MaxUint32))
	return f.End()
}

const (
	actOK = iota
	actDomainError
	actInputError
	actFloodReliable
	actFloodUnreliable
	actKick // the service closes the session with CodeReplaced
)

// testService answers testReq frames and records its lifecycle calls.
type testService struct {
	mu       sync.Mutex // guards the fields below
	opened   map[uint64]int
	closed   map[uint64]int
	frames   int
	closedCh chan uint64
}

func newTestService() *testService {
	return &testService{opened: map[uint64]int{}, closed: map[uint64]int{}, closedCh: make(chan uint64, 100)}
}

func (s *testService) Name() string              { return "test" }
func (s *testService) Handles(k frame.Kind) bool { return k == kindTest }
func (s *testService) PeerOpened(p service.Peer) {
	s.mu.Lock()
	s.opened[p.SessionID()]++
	s.mu.Unlock()
}
func (s *testService) PeerClosed(p service.Peer) {
	s.mu.Lock()
	s.closed[p.SessionID()]++
	s.mu.Unlock()
	s.closedCh <- p.SessionID()
}
func (s *testService) HandleFrame(now time.Time, p service.Peer, ch netcode.Channel, k frame.Kind, data []byte) (uint32, error) {
	var r testReq
	if err := frame.Unmarshal(data, &r); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.frames++
	s.mu.Unlock()
	switch r.Action {
	case actOK:
		b, _ := frame.Marshal(&frame.OK{Ref: r.Ref})
		p.Send(netcode.Reliable, b)
		return r.Ref, nil
	case actDomainError:
		return r.Ref, netcode.Errorf(netcode.CodeRoomFull, "room is full")
	case actInputError:
		return r.Ref, netcode.Errorf(netcode.CodeBadFrame, "bad input")
	case actKick:
		b, _ := frame.Marshal(&frame.OK{Ref: r.Ref})
		p.Send(netcode.Reliable, b)
		p.Close(netcode.CodeReplaced, strings.Repeat("é", 600)) // 1200 bytes: above the field limit
		return r.Ref, nil
	case actFloodReliable, actFloodUnreliable:
		if r.N > 10000 {
			return r.Ref, netcode.Errorf(netcode.CodeBadRequest, "n above 10000")
		}
		c := netcode.Reliable
		if r.Action == actFloodUnreliable {
			c = netcode.Unreliable
		}
		b, _ := frame.Marshal(&frame.OK{Ref: r.Ref})
		for i := uint32(0); i < r.N; i++ {
			p.Send(c, b)
		}
		return r.Ref, nil
	}
	return r.Ref, errors.New("unknown action")
}

type harness struct {
	t   *testing.T
	e   *Engine
	l   *memListener
	svc *testService
	run chan error
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	svc := newTestService()
	cfg.Services = append(cfg.Services, svc)
	if cfg.CloseLinger == 0 {
		cfg.CloseLinger = 20 * time.Millisecond // test peers never close first
	}
	e, err := New(cfg)
	require.NoError(t, err)
	h := &harness{t: t, e: e, l: newMemListener(), svc: svc, run: make(chan error, 1)}
	require.NoError(t, e.Serve(h.l))
	go func() { h.run <- e.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		assert.NoError(t, e.Shutdown(ctx))
		select {
		case err := <-h.run:
			assert.ErrorIs(t, err, ErrServerClosed)
		case <-time.After(wait):
			t.Error("Run did not return after Shutdown")
		}
	})
	return h
}

func (h *harness) token(name string, ttl time.Duration) string {
	tok, _, err := h.e.Signer().Issue(auth.Claims{UserID: "u_" + name, Name: name}, time.Now(), ttl)
	require.NoError(h.t, err)
	return tok
}

// dial connects a hand-driven client whose inbox holds inbox frames.
func (h *harness) dial(inbox int) *peertest.Peer {
	c, ok := h.l.dial(inbox)
	require.True(h.t, ok)
	return peertest.New(h.t, c, wait).Pump()
}

// dialIdle connects without reading anything (a stalled client).
func (h *harness) dialIdle(inbox int) *memConn {
	c, ok := h.l.dial(inbox)
	require.True(h.t, ok)
	h.t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "test over") })
	return c
}

func TestHandshakeAndSessionFrames(t *testing.T) {
	h := start(t, Config{})
	p := h.dial(64)
	before := time.Now()
	w := p.Hello(h.token("alice", time.Hour))
	assert.NotZero(t, w.SessionID)
	assert.Equal(t, "u_alice", w.UserID)
	assert.Equal(t, "alice", w.DisplayName)
	assert.WithinDuration(t, before, time.UnixMicro(w.ServerTimeUs), time.Second)
	assert.EqualValues(t, DefaultMaxFrameSize, w.MaxFrame)
	assert.EqualValues(t, DefaultMaxFramesPerSecond, w.MaxFramesPerSec)
	assert.EqualValues(t, 1000, w.HeartbeatMs)
	assert.EqualValues(t, 10000, w.IdleTimeoutMs)

	p.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: 12345})
	var pong frame.Pong
	p.NextKind(frame.KindPong, &pong)
	assert.EqualValues(t, 12345, pong.ClientTimeUs)
	assert.WithinDuration(t, time.Now(), time.UnixMicro(pong.ServerTimeUs), time.Second)

	for _, ch := range []netcode.Channel{netcode.Reliable, netcode.Unreliable} {
		echo := &frame.Echo{Seq: 7, SentUs: 99, Payload: []byte("hello " + ch.String())}
		b, err := frame.Marshal(echo)
		require.NoError(t, err)
		p.SendRaw(ch, b)
		m := p.Next()
		assert.Equal(t, ch, m.Ch, "echo comes back on its channel")
		assert.Equal(t, b, m.Data, "echo comes back byte for byte")
	}

	p.Send(netcode.Reliable, &testReq{Ref: 5, Action: actOK})
	var ok frame.OK
	p.NextKind(frame.KindOK, &ok)
	assert.EqualValues(t, 5, ok.Ref)

	st := h.e.Stats()
	assert.EqualValues(t, 1, st.SessionsOpen)
	assert.EqualValues(t, 1, st.Handshakes)
	assert.GreaterOrEqual(t, st.FramesIn, uint64(5))
}

func TestHelloRejected(t *testing.T) {
	other, err := auth.NewSigner(auth.RandomKey())
	require.NoError(t, err)
	issue := func(h *harness, s *auth.Signer, at time.Time) string {
		tok, _, err := s.Issue(auth.Claims{UserID: "x"}, at, time.Hour)
		require.NoError(h.t, err)
		return tok
	}

	// Tokens are issued inside each bubble, on its clock and engine.
	cases := map[string]struct {
		hello func(h *harness) frame.Hello
		code  netcode.Code
	}{
		"garbage token": {func(*harness) frame.Hello { return frame.Hello{Version: frame.ProtocolVersion, Token: "nope"} }, netcode.CodeBadToken},
		"empty token":   {func(*harness) frame.Hello { return frame.Hello{Version: frame.ProtocolVersion} }, netcode.CodeBadToken},
		"foreign key": {func(h *harness) frame.Hello {
			return frame.Hello{Version: frame.ProtocolVersion, Token: issue(h, other, time.Now())}
		}, netcode.CodeBadToken},
		"expired": {func(h *harness) frame.Hello {
			return frame.Hello{Version: frame.ProtocolVersion, Token: issue(h, h.e.Signer(), time.Now().Add(-2*time.Hour))}
		}, netcode.CodeTokenExpired},
		"wrong version": {func(h *harness) frame.Hello { return frame.Hello{Version: 99, Token: h.token("v", time.Hour)} }, netcode.CodeProtocolVersion},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := start(t, Config{})
				p := h.dial(64)
				hello := tc.hello(h)
				p.Send(netcode.Reliable, &hello)
				p.ExpectError(tc.code)
				p.ExpectClosed(tc.code)
				synctest.Wait()
				assert.Zero(t, h.e.Stats().SessionsOpen)
				assert.Zero(t, h.e.Stats().Handshakes)
			})
		})
	}
}

func TestTokenCheck(t *testing.T) {
	h := start(t, Config{TokenCheck: func(ctx context.Context, c auth.Claims) error {
		if c.UserID == "u_revoked" {
			return netcode.Errorf(netcode.CodeTokenRevoked, "logged out")
		}
		return nil
	}})
	p := h.dial(64)
	p.Send(netcode.Reliable, &frame.Hello{Version: frame.ProtocolVersion, Token: h.token("revoked", time.Hour)})
	e := p.ExpectError(netcode.CodeTokenRevoked)
	assert.Equal(t, "logged out", e.Message)
	p.ExpectClosed(netcode.CodeTokenRevoked)
	h.dial(64).Hello(h.token("fine", time.Hour))
}

func TestBadInputBeforeHelloThenTooManyErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{MaxBadFrames: 4})
		p := h.dial(64)
		p.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: 1})
		p.ExpectError(netcode.CodeNotAuthenticated)
		p.SendRaw(netcode.Reliable, []byte{0xc1, 0xff, 0x00})
		p.ExpectError(netcode.CodeBadFrame)
		p.SendRaw(netcode.Unreliable, []byte{0x93, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff}) // Hello with a 4 GiB string
		p.ExpectError(netcode.CodeBadFrame)
		p.SendRaw(netcode.Reliable, make([]byte, DefaultMaxFrameSize+1))
		p.ExpectError(netcode.CodeFrameTooLarge)
		p.ExpectClosed(netcode.CodeTooManyErrors)

		// Other sessions are untouched.
		q := h.dial(64)
		q.Hello(h.token("bob", time.Hour))
		q.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: 1})
		q.NextKind(frame.KindPong, nil)
		synctest.Wait() // every session goroutine idle: the closed one is counted
		assert.EqualValues(t, 1, h.e.Stats().Closes["too_many_errors"])
	})
}

func TestAuthenticatedErrors(t *testing.T) {
	h := start(t, Config{MaxBadFrames: 3})
	p := h.dial(256)
	p.Hello(h.token("carol", time.Hour))

	// Domain errors carry the ref and never close the session.
	for i := 0; i < 10; i++ {
		p.Send(netcode.Reliable, &testReq{Ref: uint32(100 + i), Action: actDomainError})
		e := p.ExpectError(netcode.CodeRoomFull)
		assert.EqualValues(t, 100+i, e.Ref)
	}
	p.Send(netcode.Reliable, &frame.Hello{Version: frame.ProtocolVersion, Token: "x"})
	p.ExpectError(netcode.CodeNotAuthenticated)
	p.SendRaw(netcode.Reliable, []byte{0x91, 0x7f})
	p.ExpectError(netcode.CodeUnknownKind)
	p.Send(netcode.Reliable, &testReq{Ref: 9, Action: actInputError})
	e := p.ExpectError(netcode.CodeBadFrame)
	assert.EqualValues(t, 9, e.Ref)
	p.ExpectClosed(netcode.CodeTooManyErrors)
	assert.EqualValues(t, 10, h.e.Stats().Errors["room_full"])
}

func TestRefusedRequestsCarryTheirRef(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := start(t, Config{MaxFramesPerSecond: 3, MaxFrameSize: 1024, Now: func() time.Time { return now }})
	p := h.dial(64)
	p.Send(netcode.Reliable, &testReq{Ref: 11}) // before Hello
	e := p.ExpectError(netcode.CodeNotAuthenticated)
	assert.EqualValues(t, 11, e.Ref)
	p.Hello(h.token("refs", time.Hour))
	p.SendRaw(netcode.Reliable, []byte{0x93, 0x30, 0x0c, 0x00}) // kind 48: no service
	e = p.ExpectError(netcode.CodeUnknownKind)
	assert.EqualValues(t, 12, e.Ref)
	big, err := frame.Marshal(&testReq{Ref: 13})
	require.NoError(t, err)
	p.SendRaw(netcode.Reliable, append(big[:len(big):len(big)], make([]byte, 2000)...)) // oversized
	e = p.ExpectError(netcode.CodeFrameTooLarge)
	assert.EqualValues(t, 13, e.Ref)
	p.Send(netcode.Reliable, &testReq{Ref: 14}) // the 5th frame: over the rate
	e = p.ExpectError(netcode.CodeRateLimited)
	assert.EqualValues(t, 14, e.Ref)
}

func TestCloseLingerEndsWhenPeerCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{CloseLinger: time.Hour})
		p := h.dial(64)
		p.Send(netcode.Reliable, &frame.Hello{Version: frame.ProtocolVersion, Token: "bad"})
		p.ExpectError(netcode.CodeBadToken)
		var c frame.Close
		p.NextKind(frame.KindClose, &c)
		require.NoError(t, p.Conn.Close(netcode.CodeOK, "bye"))
		synctest.Wait() // the clock has not moved: an hour of linger would still hold the session
		assert.Zero(t, h.e.Stats().SessionsOpen)
	})
}

func TestServiceClosesPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		p := h.dial(64)
		p.Hello(h.token("kicked", time.Hour))
		p.Send(netcode.Reliable, &testReq{Ref: 3, Action: actKick})
		var ok frame.OK
		p.NextKind(frame.KindOK, &ok) // queued before Close: flushed first
		assert.EqualValues(t, 3, ok.Ref)
		// The reason is cut to the limit clients decode with, on a character
		// boundary.
		var c frame.Close
		p.NextKind(frame.KindClose, &c)
		assert.Equal(t, netcode.CodeReplaced, c.Code)
		assert.Equal(t, strings.Repeat("é", frame.MaxMessageLen/2), c.Reason)
		time.Sleep(h.e.Config().CloseLinger) // the peer never closes: the session lingers, then ends
		synctest.Wait()
		assert.EqualValues(t, 1, h.e.Stats().Closes["replaced"])
	})
}

func TestHandshakeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{HandshakeTimeout: 50 * time.Millisecond})
		p := h.dial(64)
		p.ExpectClosed(netcode.CodeHandshakeTimeout)
	})
}

func TestPeerLifecycleCalledOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{ResumeWindow: -1}) // resume off: a lost connection ends its session at once
		p := h.dial(64)
		w := p.Hello(h.token("erin", time.Hour))
		require.NoError(t, p.Conn.Close(netcode.CodeOK, "bye"))
		select {
		case id := <-h.svc.closedCh:
			assert.Equal(t, w.SessionID, id)
		case <-time.After(wait):
			t.Fatal("PeerClosed not called")
		}
		h.svc.mu.Lock()
		assert.Equal(t, 1, h.svc.opened[w.SessionID])
		assert.Equal(t, 1, h.svc.closed[w.SessionID])
		h.svc.mu.Unlock()

		// A session that never authenticated is not seen by services.
		q := h.dial(64)
		require.NoError(t, q.Conn.Close(netcode.CodeOK, "bye"))
		synctest.Wait()
		assert.Zero(t, h.e.Stats().SessionsOpen)
		h.svc.mu.Lock()
		assert.Len(t, h.svc.opened, 1)
		h.svc.mu.Unlock()
	})
}

func TestSlowConsumerClosedOthersUnaffected(t *testing.T) {
	h := start(t, Config{ReliableQueue: 8})
	slow := h.dialIdle(1) // its inbox holds one frame: the writer stalls
	b, err := frame.Marshal(&frame.Hello{Version: frame.ProtocolVersion, Token: h.token("slow", time.Hour)})
	require.NoError(t, err)
	require.NoError(t, slow.WriteMessage(netcode.Reliable, b))
	b, err = frame.Marshal(&testReq{Ref: 1, Action: actFloodReliable, N: 1000})
	require.NoError(t, err)
	require.NoError(t, slow.WriteMessage(netcode.Reliable, b))

	fast := h.dial(64)
	fast.Hello(h.token("fast", time.Hour))
	select {
	case <-h.svc.closedCh:
	case <-time.After(wait):
		t.Fatal("slow consumer not closed")
	}
	st := h.e.Stats()
	assert.EqualValues(t, 1, st.Closes["slow_consumer"])
	assert.GreaterOrEqual(t, st.Drops["reliable_overflow"], uint64(1))
	fast.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: 1})
	fast.NextKind(frame.KindPong, nil)
}

func TestUnreliableOverflowDropsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{UnreliableQueue: 4})
		slow := h.dialIdle(1)
		b, err := frame.Marshal(&frame.Hello{Version: frame.ProtocolVersion, Token: h.token("u", time.Hour)})
		require.NoError(t, err)
		require.NoError(t, slow.WriteMessage(netcode.Reliable, b))
		b, err = frame.Marshal(&testReq{Ref: 1, Action: actFloodUnreliable, N: 100})
		require.NoError(t, err)
		require.NoError(t, slow.WriteMessage(netcode.Reliable, b))
		synctest.Wait() // the service has queued all 100; the writer is stuck on the full inbox
		assert.GreaterOrEqual(t, h.e.Stats().Drops["unreliable_overflow"], uint64(90))
		assert.EqualValues(t, 1, h.e.Stats().SessionsOpen, "unreliable overflow never closes a session")
	})
}

func TestShutdownClosesEverySession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService()
		e, err := New(Config{CloseLinger: 20 * time.Millisecond, Services: []service.Service{svc}})
		require.NoError(t, err)
		l := newMemListener()
		require.NoError(t, e.Serve(l))
		run := make(chan error, 1)
		go func() { run <- e.Run(context.Background()) }()
		h := &harness{t: t, e: e, l: l, svc: svc}
		a := h.dial(64)
		a.Hello(h.token("a", time.Hour))
		b := h.dial(64) // not yet authenticated
		synctest.Wait()
		require.EqualValues(t, 2, e.Stats().SessionsOpen)

		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		require.NoError(t, e.Shutdown(ctx))
		a.ExpectClosed(netcode.CodeServerShutdown)
		b.ExpectClosed(netcode.CodeServerShutdown)
		select {
		case err := <-run:
			assert.ErrorIs(t, err, ErrServerClosed)
		case <-time.After(wait):
			t.Fatal("Run did not return")
		}
		assert.NoError(t, e.Shutdown(ctx), "Shutdown is idempotent")
		assert.ErrorIs(t, e.Serve(newMemListener()), ErrServerClosed)
		assert.ErrorIs(t, e.Run(context.Background()), ErrServerClosed)
		svc.mu.Lock()
		assert.Len(t, svc.closed, 1)
		svc.mu.Unlock()
		_, ok := l.dial(1)
		assert.False(t, ok, "listener closed")
	})
}

func TestShutdownTimeoutForcesClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newTestService()
		e, err := New(Config{Services: []service.Service{svc}})
		require.NoError(t, err)
		l := newMemListener()
		require.NoError(t, e.Serve(l))
		run := make(chan error, 1)
		go func() { run <- e.Run(context.Background()) }()
		h := &harness{t: t, e: e, l: l, svc: svc}
		slow := h.dialIdle(1)
		b, _ := frame.Marshal(&frame.Hello{Version: frame.ProtocolVersion, Token: h.token("s", time.Hour)})
		require.NoError(t, slow.WriteMessage(netcode.Reliable, b))
		b, _ = frame.Marshal(&testReq{Ref: 1, Action: actFloodReliable, N: 100})
		require.NoError(t, slow.WriteMessage(netcode.Reliable, b))
		synctest.Wait()
		require.EqualValues(t, 1, e.Stats().Handshakes)

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, e.Shutdown(ctx), context.DeadlineExceeded)
		assert.ErrorIs(t, <-run, ErrServerClosed)
		assert.Zero(t, e.Stats().SessionsOpen)
	})
}

func TestRunCancelShutsDown(t *testing.T) {
	e, err := New(Config{CloseLinger: 20 * time.Millisecond})
	require.NoError(t, err)
	l := newMemListener()
	require.NoError(t, e.Serve(l))
	ctx, cancel := context.WithCancel(context.Background())
	run := make(chan error, 1)
	go func() { run <- e.Run(ctx) }()
	h := &harness{t: t, e: e, l: l}
	p := h.dial(64)
	p.Hello(h.token("z", time.Hour))
	cancel()
	p.ExpectClosed(netcode.CodeServerShutdown)
	assert.ErrorIs(t, <-run, ErrServerClosed)
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]Config{
		"short key":         {TokenKey: []byte("short")},
		"frame too small":   {MaxFrameSize: 10},
		"frame too large":   {MaxFrameSize: 1 << 20},
		"negative limit":    {MaxBadFrames: -1},
		"idle <= heartbeat": {HeartbeatInterval: time.Second, IdleTimeout: time.Second},
		"session kind":      {Services: []service.Service{kindClaimer{k: frame.KindPing}}},
		"duplicate kind":    {Services: []service.Service{kindClaimer{k: 30}, kindClaimer{k: 30}}},
		"nil service":       {Services: []service.Service{nil}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := New(cfg)
			assert.ErrorIs(t, err, ErrBadConfig)
		})
	}
	e, err := New(Config{})
	require.NoError(t, err)
	c := e.Config()
	assert.Equal(t, DefaultMaxFrameSize, c.MaxFrameSize)
	assert.Equal(t, DefaultReliableQueue, c.ReliableQueue)
	assert.Len(t, c.TokenKey, 32)
}

type kindClaimer struct{ k frame.Kind }

func (c kindClaimer) Name() string              { return "claimer" }
func (c kindClaimer) Handles(k frame.Kind) bool { return k == c.k }
func (kindClaimer) PeerOpened(service.Peer)     {}
func (kindClaimer) PeerClosed(service.Peer)     {}
func (kindClaimer) HandleFrame(time.Time, service.Peer, netcode.Channel, frame.Kind, []byte) (uint32, error) {
	return 0, nil
}

// failingRunner is a service whose background work fails.
type failingRunner struct {
	kindClaimer
	started chan struct{}
}

var errRunnerBroke = errors.New("runner broke")

func (f failingRunner) Run(ctx context.Context) error {
	close(f.started)
	return errRunnerBroke
}

// stoppingRunner runs until cancelled.
type stoppingRunner struct {
	kindClaimer
	stopped chan struct{}
}

func (s stoppingRunner) Run(ctx context.Context) error {
	<-ctx.Done()
	close(s.stopped)
	return nil
}

func TestServiceRunners(t *testing.T) {
	t.Run("failure stops the engine", func(t *testing.T) {
		f := failingRunner{kindClaimer{k: 50}, make(chan struct{})}
		e, err := New(Config{Services: []service.Service{f}})
		require.NoError(t, err)
		err = e.Run(context.Background())
		assert.ErrorIs(t, err, errRunnerBroke)
		assert.ErrorIs(t, e.Serve(newMemListener()), ErrServerClosed)
	})
	t.Run("cancelled at shutdown", func(t *testing.T) {
		s := stoppingRunner{kindClaimer{k: 50}, make(chan struct{})}
		e, err := New(Config{Services: []service.Service{s}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		run := make(chan error, 1)
		go func() { run <- e.Run(ctx) }()
		cancel()
		assert.ErrorIs(t, <-run, ErrServerClosed)
		select {
		case <-s.stopped:
		default:
			t.Fatal("runner still running after Run returned")
		}
	})
}

// syncBuffer is a log sink safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The client program named in Hello is logged when the session opens and
// stays on the session's later log lines; every debug line of the
// session carries its id.
func TestSessionLogsNameTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		h := start(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		p := h.dial(64)
		w := p.Hello(h.token("ann", time.Hour))
		require.NoError(t, p.Conn.Close(netcode.CodeOK, "bye"))
		<-h.svc.closedCh
		synctest.Wait()
		require.Contains(t, logs.String(), `"msg":"session closed"`)
		var opened, closed map[string]any
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m))
			if m["level"] == "DEBUG" {
				assert.EqualValues(t, w.SessionID, m["session"], "a session's debug line without its id: %s", line)
			}
			switch m["msg"] {
			case "session opened":
				opened = m
			case "session closed":
				closed = m
			}
		}
		for _, m := range []map[string]any{opened, closed} {
			require.NotNil(t, m)
			assert.EqualValues(t, w.SessionID, m["session"])
			assert.Equal(t, "u_ann", m["user"])
			assert.Equal(t, "peertest", m["client"])
			assert.Equal(t, "1", m["client_version"])
			assert.Equal(t, "mem", m["transport"])
		}
		assert.Equal(t, "ok", closed["code"])
	})
}

// slowOpener takes its time in PeerOpened, widening the gap between the
// session's Welcome and the services learning of it.
type slowOpener struct {
	kindClaimer
	opened atomic.Bool
}

func (s *slowOpener) PeerOpened(service.Peer) {
	time.Sleep(50 * time.Millisecond) // a slow service, not test synchronisation
	s.opened.Store(true)
}

// A client that has its Welcome is known to every service.
func TestWelcomeWaitsForServices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &slowOpener{kindClaimer: kindClaimer{k: 200}}
		h := start(t, Config{Services: []service.Service{slow}})
		p := h.dial(64)
		p.Hello(h.token("alice", time.Hour))
		assert.True(t, slow.opened.Load(), "Welcome arrived before PeerOpened finished")
	})
}
