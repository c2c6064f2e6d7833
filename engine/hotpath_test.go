package engine

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// sinkConn is a Conn that accepts every write and never reads; it lets
// the session's input path run without goroutines or sockets.
type sinkConn struct {
	writes int
	last   []byte
}

func (c *sinkConn) ReadMessage() (netcode.Channel, []byte, error) { return 0, nil, netcode.ErrClosed }
func (c *sinkConn) WriteMessage(ch netcode.Channel, p []byte) error {
	c.writes++
	c.last = append(c.last[:0], p...)
	return nil
}
func (c *sinkConn) Close(netcode.Code, string) error { return nil }
func (c *sinkConn) Stats() netcode.Stats             { return netcode.Stats{} }
func (c *sinkConn) Transport() string                { return "sink" }
func (c *sinkConn) LocalAddr() net.Addr              { return memAddr("l") }
func (c *sinkConn) RemoteAddr() net.Addr             { return memAddr("r") }

// newBareSession returns a session that is not run by goroutines: the
// test calls handle and writeBatch itself.
func newBareSession(tb testing.TB, cfg Config) (*session, *sinkConn) {
	cfg.Services = append(cfg.Services, newTestService())
	e, err := New(cfg)
	require.NoError(tb, err)
	c := &sinkConn{}
	s := newSession(e, c, 1)
	s.handshake = time.NewTimer(time.Hour)
	tb.Cleanup(func() { s.handshake.Stop() })
	return s, c
}

func authenticate(tb testing.TB, s *session, now time.Time) {
	tok, _, err := s.e.Signer().Issue(auth.Claims{UserID: "u1", Name: "one"}, now, time.Hour)
	require.NoError(tb, err)
	hello, err := frame.Marshal(&frame.Hello{Version: frame.ProtocolVersion, Token: tok, Resume: true})
	require.NoError(tb, err)
	require.True(tb, s.handle(now, netcode.Reliable, hello))
	require.True(tb, s.authed.Load())
}

func TestHotPathAllocatesNothing(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, sink := newBareSession(t, Config{MaxFramesPerSecond: -1})
	authenticate(t, s, now)
	batch := make([]outFrame, 0, 64)
	batch, err := s.writeBatch(batch)
	require.NoError(t, err)

	echo, err := frame.Marshal(&frame.Echo{Seq: 1, SentUs: 2, Payload: make([]byte, 64)})
	require.NoError(t, err)
	ping, err := frame.Marshal(&frame.Ping{ClientTimeUs: 42})
	require.NoError(t, err)
	push, err := frame.Marshal(&frame.OK{Ref: 0})
	require.NoError(t, err)

	cases := map[string]func(){
		"echo reliable":   func() { s.handle(now, netcode.Reliable, echo) },
		"echo unreliable": func() { s.handle(now, netcode.Unreliable, echo) },
		"ping":            func() { s.handle(now, netcode.Reliable, ping) },
		"service push":    func() { s.Send(netcode.Unreliable, push) },
		// Through the peer: numbered and kept for a resume (by
		// reference), the oldest forgotten once the buffer is full.
		"numbered push kept for resume": func() { s.peer.Send(netcode.Reliable, push) },
		"unreliable push via the peer":  func() { s.peer.Send(netcode.Unreliable, push) },
	}
	for range 2 * s.e.cfg.ReplayFrames { // the buffer at its cap: no growth left
		s.peer.Send(netcode.Reliable, push)
		batch, _ = s.writeBatch(batch)
	}
	for name, input := range cases {
		t.Run(name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(1000, func() {
				input()
				batch, err = s.writeBatch(batch)
				if err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs, "allocations per frame")
		})
	}
	s.handle(now, netcode.Unreliable, echo)
	_, err = s.writeBatch(batch)
	require.NoError(t, err)
	assert.Equal(t, echo, sink.last, "echo written byte for byte")
}

func TestHotPathWithRateLimiterAllocatesNothing(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, _ := newBareSession(t, Config{MaxFramesPerSecond: 1 << 30})
	authenticate(t, s, now)
	echo, err := frame.Marshal(&frame.Echo{Seq: 1, Payload: make([]byte, 64)})
	require.NoError(t, err)
	batch := make([]outFrame, 0, 64)
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Microsecond)
		s.handle(now, netcode.Reliable, echo)
		batch, _ = s.writeBatch(batch)
	})
	assert.Zero(t, allocs)
}

// BenchmarkSessionEcho is the engine's input path for one Echo: limits,
// decode, copy into a pooled buffer, queue, write.
func BenchmarkSessionEcho(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	s, _ := newBareSession(b, Config{})
	authenticate(b, s, now)
	s.limiter = nil
	echo, err := frame.Marshal(&frame.Echo{Seq: 1, Payload: make([]byte, 64)})
	require.NoError(b, err)
	batch := make([]outFrame, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.handle(now, netcode.Reliable, echo)
		batch, _ = s.writeBatch(batch)
	}
}

// BenchmarkSessionBroadcastSend is one service push queued and written.
func BenchmarkSessionBroadcastSend(b *testing.B) {
	s, _ := newBareSession(b, Config{})
	push, err := frame.Marshal(&frame.OK{})
	require.NoError(b, err)
	var p service.Peer = s
	batch := make([]outFrame, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Send(netcode.Unreliable, push)
		batch, _ = s.writeBatch(batch)
	}
}

// BenchmarkPeerBroadcastSend is one room push through what services see
// (the peer): numbered, kept in the replay buffer by reference, queued
// and written. Beside BenchmarkSessionBroadcastSend it is the cost of
// resume on the broadcast path.
func BenchmarkPeerBroadcastSend(b *testing.B) {
	for _, tc := range []struct {
		name   string
		window time.Duration
	}{{"resume_on", 0}, {"resume_off", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			now := time.Unix(1_700_000_000, 0)
			s, _ := newBareSession(b, Config{ResumeWindow: tc.window})
			authenticate(b, s, now)
			push, err := frame.Marshal(&frame.RoomData{RoomID: 1, Tick: 2, Data: make([]byte, 64)})
			require.NoError(b, err)
			var p service.Peer = s.peer
			batch := make([]outFrame, 0, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.Send(netcode.Reliable, push)
				batch, _ = s.writeBatch(batch)
			}
		})
	}
}

// FuzzSessionInput feeds arbitrary bytes to a session's input path, before
// and after authentication: it must never panic, must answer everything
// it writes as a valid frame, and must echo a valid Echo byte for byte.
func FuzzSessionInput(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	seeds := []frame.Frame{
		&frame.Hello{Version: frame.ProtocolVersion, Token: "tw1.x.y", ClientName: "fuzz"},
		&frame.Ping{ClientTimeUs: 123},
		&frame.Echo{Seq: 9, SentUs: 1, Payload: []byte("payload")},
		&frame.Close{Code: netcode.CodeOK, Reason: "bye"},
		&frame.Error{Code: netcode.CodeBadFrame, Message: "x", Ref: 3},
		&frame.OK{Ref: 4},
		&testReq{Ref: 5, Action: actOK},
		&testReq{Ref: 6, Action: actDomainError},
		&testReq{Ref: 7, Action: actFloodUnreliable, N: 3},
	}
	for _, fr := range seeds {
		b, err := frame.Marshal(fr)
		require.NoError(f, err)
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte{0x91}, true)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x07}, true)
	f.Add([]byte{0x94, 0x07, 0xce, 0xff, 0xff, 0xff, 0xff, 0x00, 0xc6, 0x7f, 0xff, 0xff, 0xff}, true)

	f.Fuzz(func(t *testing.T, data []byte, unreliable bool) {
		s, sink := newBareSession(t, Config{MaxFrameSize: 4096, MaxBadFrames: 1 << 20})
		ch := netcode.Reliable
		if unreliable {
			ch = netcode.Unreliable
		}
		check := func() {
			for _, out := range s.q.drain(nil) {
				_, err := frame.Peek(out.b)
				require.NoError(t, err, "the engine wrote an invalid frame")
				s.e.putBuf(out.buf)
			}
		}
		s.handle(now, ch, data) // unauthenticated
		check()
		if s.authed.Load() {
			return // a forged Hello cannot pass: the token is unsigned
		}
		s2, _ := newBareSession(t, Config{MaxFrameSize: 4096, MaxBadFrames: 1 << 20, MaxFramesPerSecond: -1})
		authenticate(t, s2, now)
		s2.q.drain(nil)
		s2.handle(now, ch, data)
		var echo frame.Echo
		out := s2.q.drain(nil)
		if k, err := frame.Peek(data); err == nil && k == frame.KindEcho && len(data) <= 4096 && frame.Unmarshal(data, &echo) == nil {
			require.Len(t, out, 1)
			require.True(t, bytes.Equal(data, out[0].b), "echo differs")
			require.Equal(t, ch, out[0].ch)
		}
		for _, o := range out {
			_, err := frame.Peek(o.b)
			require.NoError(t, err)
		}
		_ = sink
	})
}
