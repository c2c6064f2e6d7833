package engine

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/internal/peertest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// queuerConn is the server end of an in-memory pair that is also a
// netcode.Queuer, as a KCP Conn on an event loop is: QueueMessages
// checks every size first, copies into a pending list and never blocks;
// Flush hands what is pending to the peer; WriteMessage queues and
// flushes. Every call that queues, refuses or flushes something is
// recorded in ops, in order.
type queuerConn struct {
	*memConn
	maxReliable   int         // larger reliable messages fail with ErrMessageTooLarge (0: no limit)
	maxUnreliable int         // the same for unreliable ones (one datagram)
	full          atomic.Bool // reliable messages fail with ErrQueueFull

	mu      sync.Mutex // guards the fields below
	pending []memMsg
	log     []string
	flushes int // Flush calls, including those that found nothing
}

var _ netcode.Queuer = (*queuerConn)(nil)

func (c *queuerConn) QueueMessages(ch netcode.Channel, msgs [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queueLocked("queue", ch, msgs)
}

func (c *queuerConn) queueLocked(op string, ch netcode.Channel, msgs [][]byte) error {
	select {
	case <-c.done:
		return netcode.ErrClosed
	default:
	}
	limit := c.maxReliable
	if ch == netcode.Unreliable {
		limit = c.maxUnreliable
	}
	for _, p := range msgs {
		if limit > 0 && len(p) > limit {
			c.log = append(c.log, fmt.Sprintf("refuse %s %s", ch, label(p)))
			return fmt.Errorf("queuer: %d bytes: %w", len(p), netcode.ErrMessageTooLarge)
		}
	}
	if ch == netcode.Reliable && c.full.Load() {
		c.log = append(c.log, "refuse full")
		return fmt.Errorf("queuer: %w", netcode.ErrQueueFull)
	}
	for _, p := range msgs {
		c.pending = append(c.pending, memMsg{ch: ch, b: append([]byte(nil), p...)})
		c.log = append(c.log, fmt.Sprintf("%s %s %s", op, ch, label(p)))
	}
	return nil
}

func (c *queuerConn) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *queuerConn) flushLocked() {
	c.flushes++
	if len(c.pending) == 0 {
		return
	}
	c.log = append(c.log, "flush")
	for _, m := range c.pending {
		if c.memConn.WriteMessage(m.ch, m.b) != nil {
			break // closed: the rest is lost, as on a real link
		}
	}
	clear(c.pending)
	c.pending = c.pending[:0]
}

// WriteMessage is what the session's writer calls: on a Queuer it
// queues and flushes.
func (c *queuerConn) WriteMessage(ch netcode.Channel, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.queueLocked("write", ch, [][]byte{p}); err != nil {
		return err
	}
	c.flushLocked()
	return nil
}

// ops returns the calls recorded so far.
func (c *queuerConn) ops() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// label names a frame in ops: its kind, with the ref of an OK.
func label(b []byte) string {
	k, err := frame.Peek(b)
	if err != nil {
		return fmt.Sprintf("%dB", len(b))
	}
	switch k {
	case frame.KindWelcome:
		return "welcome"
	case frame.KindPong:
		return "pong"
	case frame.KindError:
		return "error"
	case frame.KindClose:
		return "close"
	case frame.KindOK:
		var ok frame.OK
		if frame.Unmarshal(b, &ok) == nil {
			return fmt.Sprintf("ok%d", ok.Ref)
		}
	}
	return fmt.Sprintf("kind%d", k)
}

// openSender sends two frames from PeerOpened, before the Welcome leaves.
type openSender struct{ kindClaimer }

func (openSender) PeerOpened(p service.Peer) {
	p.Send(netcode.Reliable, okFrame(101))
	p.Send(netcode.Unreliable, okFrame(201))
}

func okFrame(ref uint32) []byte {
	b, err := frame.Marshal(&frame.OK{Ref: ref})
	if err != nil {
		panic(err) // a fixed frame always encodes
	}
	return b
}

// newDirectSession returns a session over a queuerConn that no reader
// runs: the test calls handle as the reader would. A close starts
// finishLoop as in a running engine; the cleanup ends it.
func newDirectSession(t *testing.T, cfg Config) (*session, *queuerConn, *memConn) {
	cfg.Services = append(cfg.Services, newTestService())
	if cfg.CloseLinger == 0 {
		cfg.CloseLinger = time.Millisecond // no reader closes readerDone
	}
	e, err := New(cfg)
	require.NoError(t, err)
	client, server := memPair(4096) // more than any test sends: a Flush never waits for the client
	qc := &queuerConn{memConn: server}
	s := newSession(e, qc, 1)
	s.handshake = time.NewTimer(time.Hour)
	t.Cleanup(func() {
		s.handshake.Stop()
		s.forceClose()
		waitFinished(t, s)
	})
	return s, qc, client
}

// waitFinished waits for the session's close sequence to end (the writer
// or finishLoop closed the Conn).
func waitFinished(t *testing.T, s *session) {
	t.Helper()
	select {
	case <-s.finished:
	case <-time.After(wait):
		t.Fatal("the close sequence did not finish")
	}
}

// received returns what reached the client so far.
func received(c *memConn) []string {
	var got []string
	for {
		select {
		case m := <-c.in:
			got = append(got, m.ch.String()+" "+label(m.b))
		default:
			return got
		}
	}
}

// openProbe runs opened from PeerOpened.
type openProbe struct {
	kindClaimer
	opened func(service.Peer)
}

func (o openProbe) PeerOpened(p service.Peer) { o.opened(p) }

// A session on a Queuer is direct from its first frame: an Error before
// Hello goes straight to the transport. Hello holds the queue: the
// Welcome and what services send during PeerOpened wait until every
// service saw PeerOpened, then reach the transport in order (reliable
// first) with one flush, and the rings are released; later frames go
// straight to it, each Send and each message read flushed once. The
// writer's WriteMessage is never used.
func TestDirectModeHandsOverInOrder(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var qc *queuerConn
	var atOpen []string
	probe := openProbe{kindClaimer{k: 201}, func(p service.Peer) {
		atOpen = qc.ops()
		p.Send(netcode.Reliable, okFrame(101))
		p.Send(netcode.Unreliable, okFrame(201))
		p.Send(netcode.Reliable, okFrame(102))
	}}
	s, qc, client := newDirectSession(t, Config{Services: []service.Service{probe}})
	ping, err := frame.Marshal(&frame.Ping{ClientTimeUs: 1})
	require.NoError(t, err)

	require.True(t, s.handle(now, netcode.Reliable, ping)) // before Hello: not_authenticated
	s.Flush()
	authenticate(t, s, now)
	assert.Equal(t, []string{"queue reliable error", "flush"}, atOpen, "the Welcome waits for every service")
	require.True(t, s.q.direct.Load())
	require.True(t, s.Send(netcode.Reliable, okFrame(103)))
	require.True(t, s.handle(now, netcode.Reliable, ping))
	s.Flush() // the reader flushes after each message

	assert.Equal(t, []string{
		"queue reliable error", "flush",
		"queue reliable welcome", "queue reliable ok101", "queue reliable ok102",
		"queue unreliable ok201", "flush",
		"queue reliable ok103", "flush",
		"queue reliable pong", "flush",
	}, qc.ops())
	assert.Equal(t, []string{
		"reliable error", "reliable welcome", "reliable ok101", "reliable ok102", "unreliable ok201",
		"reliable ok103", "reliable pong",
	}, received(client))
	assert.EqualValues(t, 7, s.framesOut())
	assert.Zero(t, s.q.rel.n+s.q.unrel.n, "nothing left queued")
	assert.Nil(t, s.q.rel.items, "the reliable ring is released")
	assert.Nil(t, s.q.unrel.items, "the unreliable ring is released")
}

// A session closed while hello holds its queue (here by a service in
// PeerOpened) never goes direct: finishLoop writes what is held, then the
// Close frame, as the writer would, and closes the Conn.
func TestDirectModeNotAfterClose(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	probe := openProbe{kindClaimer{k: 201}, func(p service.Peer) {
		p.Send(netcode.Reliable, okFrame(101))
		p.Close(netcode.CodeReplaced, "kicked")
	}}
	s, qc, client := newDirectSession(t, Config{Services: []service.Service{probe}})
	authenticate(t, s, now)
	assert.False(t, s.q.direct.Load())
	waitFinished(t, s)
	assert.Equal(t, []string{
		"write reliable welcome", "flush", "write reliable ok101", "flush", "write reliable close", "flush",
	}, qc.ops())
	assert.Equal(t, []string{"reliable welcome", "reliable ok101", "reliable close"}, received(client))
	assert.EqualValues(t, netcode.CodeReplaced, qc.memConn.code.Load(), "the Conn is closed with the session's code")
}

// Refusals keep their meaning and counters in direct mode.
func TestDirectModeRefusals(t *testing.T) {
	type counts map[int]uint64
	cases := map[string]struct {
		limits func(*queuerConn)
		before func(*session, *queuerConn)
		ch     netcode.Channel
		size   int
		sent   bool
		drops  counts
		closes bool // the refusal ends the session, with code and mode
		code   netcode.Code
		mode   closeMode
		ops    []string
	}{
		"unreliable too large is promoted": {
			limits: func(c *queuerConn) { c.maxUnreliable = 32 },
			ch:     netcode.Unreliable, size: 64, sent: true,
			drops: counts{promotedTooLarge: 1},
			ops:   []string{"refuse unreliable 64B", "queue reliable 64B", "flush"},
		},
		"unreliable too large for both is dropped": {
			limits: func(c *queuerConn) { c.maxUnreliable, c.maxReliable = 32, 48 },
			ch:     netcode.Unreliable, size: 64,
			drops: counts{promotedTooLarge: 1, dropTooLarge: 1},
			ops:   []string{"refuse unreliable 64B", "refuse reliable 64B"},
		},
		"reliable too large is dropped": {
			limits: func(c *queuerConn) { c.maxReliable = 48 },
			ch:     netcode.Reliable, size: 64,
			drops: counts{dropTooLarge: 1},
			ops:   []string{"refuse reliable 64B"},
		},
		"full transport queue closes the slow consumer": {
			before: func(_ *session, c *queuerConn) { c.full.Store(true) },
			ch:     netcode.Reliable, size: 8,
			drops:  counts{dropReliableOverflow: 1},
			closes: true, code: netcode.CodeSlowConsumer,
			ops: []string{"refuse full"},
		},
		"ended conn closes the session": {
			before: func(_ *session, c *queuerConn) { require.NoError(t, c.Close(netcode.CodeOK, "gone")) },
			ch:     netcode.Reliable, size: 8,
			drops:  counts{dropClosed: 1},
			closes: true, code: netcode.CodeOK,
			mode: closeLost, // the conn ended under the session: it waits for a Resume
		},
		"closed session refuses": {
			before: func(s *session, _ *queuerConn) {
				s.Close(netcode.CodeReplaced, "kicked")
				waitFinished(t, s)
			},
			ch: netcode.Reliable, size: 8,
			drops:  counts{dropClosed: 1},
			closes: true, code: netcode.CodeReplaced,
			mode: closeGraceful,
			ops:  []string{"write reliable close", "flush"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			s, qc, _ := newDirectSession(t, Config{})
			authenticate(t, s, now) // the Welcome (with its resume secret) goes out before the limits shrink
			if tc.limits != nil {
				tc.limits(qc)
			}
			require.True(t, s.q.direct.Load())
			qc.mu.Lock()
			qc.log = nil
			qc.mu.Unlock()
			if tc.before != nil {
				tc.before(s, qc)
			}
			out := s.framesOut()

			assert.Equal(t, tc.sent, s.Send(tc.ch, bytes.Repeat([]byte{0xc1}, tc.size)))
			assert.Equal(t, tc.ops, qc.ops())
			for r := range numDrops {
				assert.Equal(t, tc.drops[r], s.e.c.drops[r].Load(), "drops[%s]", dropNames[r])
			}
			if tc.sent {
				assert.Equal(t, out+1, s.framesOut())
			} else {
				assert.Equal(t, out, s.framesOut())
			}
			select {
			case <-s.closing:
				require.True(t, tc.closes, "closed: %s (%s)", s.closeCode, s.closeReason)
				assert.Equal(t, tc.code, s.closeCode)
				assert.Equal(t, tc.mode, s.closeMode, "a transport refusal aborts, or parks a lost connection")
			default:
				assert.False(t, tc.closes, "session still open")
			}
		})
	}
}

// dialQueuer connects a hand-driven client whose server end is a
// queuerConn.
func (h *harness) dialQueuer(inbox int) (*peertest.Peer, *queuerConn) {
	c, s := memPair(inbox)
	qc := &queuerConn{memConn: s}
	select {
	case h.l.conns <- qc:
	case <-h.l.done:
		h.t.Fatal("listener closed")
	}
	return peertest.New(h.t, c, wait).Pump(), qc
}

// A whole session over a Queuer: frames from PeerOpened follow the
// Welcome, replies and service frames go direct, and a graceful close
// still delivers what was queued, then the Close frame (the writer's only
// write), then closes the Conn.
func TestDirectModeSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{Services: []service.Service{openSender{kindClaimer{k: 201}}}})
		p, qc := h.dialQueuer(64)
		p.Hello(h.token("dora", time.Hour))
		var ok frame.OK
		p.NextKind(frame.KindOK, &ok)
		assert.EqualValues(t, 101, ok.Ref)
		m := p.NextKind(frame.KindOK, &ok)
		assert.EqualValues(t, 201, ok.Ref)
		assert.Equal(t, netcode.Unreliable, m.Ch)

		p.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: 7})
		p.NextKind(frame.KindPong, nil)
		p.Send(netcode.Reliable, &testReq{Ref: 5, Action: actOK})
		p.NextKind(frame.KindOK, &ok)
		assert.EqualValues(t, 5, ok.Ref)

		p.Send(netcode.Reliable, &testReq{Ref: 6, Action: actKick}) // Send OK 6, then Close(replaced)
		p.NextKind(frame.KindOK, &ok)
		assert.EqualValues(t, 6, ok.Ref)
		p.ExpectClosed(netcode.CodeReplaced)

		ops := qc.ops()
		require.NotEmpty(t, ops)
		assert.Equal(t, "queue reliable welcome", ops[0])
		var writes []string
		for _, op := range ops {
			if strings.HasPrefix(op, "write") {
				writes = append(writes, op)
			}
		}
		assert.Equal(t, []string{"write reliable close"}, writes, "the writer only sends the Close frame")
		assert.Equal(t, []string{"queue reliable ok6", "flush", "write reliable close", "flush"}, ops[len(ops)-4:])
	})
}

// A transport queue that is full closes the session with slow_consumer,
// counted, and the Conn is closed with that code.
func TestDirectModeSlowConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Config{})
		p, qc := h.dialQueuer(64)
		p.Hello(h.token("slow", time.Hour))
		synctest.Wait() // the writer has switched
		qc.full.Store(true)
		p.Send(netcode.Reliable, &testReq{Ref: 1, Action: actOK})
		select {
		case <-h.svc.closedCh:
		case <-time.After(wait):
			t.Fatal("slow consumer not closed")
		}
		st := h.e.Stats()
		assert.EqualValues(t, 1, st.Closes["slow_consumer"])
		assert.EqualValues(t, 1, st.Drops["reliable_overflow"])
		assert.EqualValues(t, netcode.CodeSlowConsumer, qc.memConn.code.Load())
		for _, op := range qc.ops() {
			assert.NotContains(t, op, "write", "an abort sends no Close frame")
		}
	})
}

// nullQueuer is a Queuer that counts and keeps nothing: no allocation of
// its own in an allocation budget.
type nullQueuer struct {
	sinkConn
	queued, flushes int
}

func (c *nullQueuer) QueueMessages(_ netcode.Channel, msgs [][]byte) error {
	c.queued += len(msgs)
	return nil
}
func (c *nullQueuer) Flush() { c.flushes++ }

func TestDirectHotPathAllocatesNothing(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	e, err := New(Config{MaxFramesPerSecond: -1, Services: []service.Service{newTestService()}})
	require.NoError(t, err)
	c := &nullQueuer{}
	s := newSession(e, c, 1)
	s.handshake = time.NewTimer(time.Hour)
	t.Cleanup(func() { s.handshake.Stop() })
	authenticate(t, s, now)
	require.True(t, s.q.direct.Load())

	echo, err := frame.Marshal(&frame.Echo{Seq: 1, SentUs: 2, Payload: make([]byte, 64)})
	require.NoError(t, err)
	ping, err := frame.Marshal(&frame.Ping{ClientTimeUs: 42})
	require.NoError(t, err)
	push := okFrame(0)
	cases := map[string]func(){
		"echo":         func() { s.handle(now, netcode.Reliable, echo); s.Flush() },
		"ping":         func() { s.handle(now, netcode.Reliable, ping); s.Flush() },
		"service push": func() { s.Send(netcode.Unreliable, push) },
		"queue":        func() { s.Queue(netcode.Reliable, push) },
	}
	for name, input := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Zero(t, testing.AllocsPerRun(1000, input), "allocations per frame")
		})
	}
	assert.Zero(t, c.writes, "nothing through WriteMessage")
	assert.Positive(t, c.queued)
}

// Services sending from their own goroutines while the session closes
// gracefully: every frame a Send reported as taken reaches the transport
// before the Close frame, and nothing after it.
func TestDirectModeCloseWhileSending(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, qc, _ := newDirectSession(t, Config{})
	authenticate(t, s, now)
	require.True(t, s.q.direct.Load())

	const senders, each = 4, 200
	var taken atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				if s.Send(netcode.Reliable, okFrame(uint32(1000*g+i))) {
					taken.Add(1)
				}
			}
		}()
	}
	close(start)
	for taken.Load() < senders*each/4 { // close in the middle of the sending
		runtime.Gosched()
	}
	close(s.readerDone) // the peer is gone: no linger
	s.Close(netcode.CodeOK, "bye")
	waitFinished(t, s) // finishLoop has sent the Close frame and closed the Conn
	wg.Wait()

	ops := qc.ops()
	var queued int64
	closeAt := -1
	for i, op := range ops {
		switch {
		case op == "write reliable close":
			closeAt = i
		case strings.HasPrefix(op, "queue reliable ok"):
			assert.Negative(t, closeAt, "%q after the Close frame", op)
			queued++
		}
	}
	assert.Positive(t, closeAt, "the Close frame was sent")
	assert.Equal(t, taken.Load(), queued, "every frame taken reached the transport")
	assert.EqualValues(t, senders*each-taken.Load(), s.e.c.drops[dropClosed].Load(), "the rest were refused and counted")
}

// Over real loopback sockets, KCP sessions run in direct mode without a
// writer goroutine and TCP sessions keep their writer; both answer as
// before.
func TestDirectModeOverKCP(t *testing.T) {
	s := startNet(t, Config{})
	for transport, direct := range map[string]bool{"kcp": true, "tcp": false} {
		p := s.session(transport, transport)
		ping(t, p)
		s.e.mu.Lock()
		var sess *session
		for _, x := range s.e.sessions {
			if x.conn.Transport() == transport {
				sess = x
			}
		}
		s.e.mu.Unlock()
		require.NotNil(t, sess, transport)
		assert.Equal(t, direct, sess.q.qr != nil, "%s: the Conn is a Queuer", transport)
		assert.Equal(t, direct, sess.q.direct.Load(), "%s: the session is direct", transport)
		assert.Equal(t, direct, sess.q.rel.items == nil && sess.q.unrel.items == nil, "%s: the rings are released", transport)
	}
	assert.EqualValues(t, 1, s.e.writers.Load(), "one writer goroutine: the TCP session's")
	// The writer (TCP) counts a frame after its write returns, which the
	// peer may see first.
	assert.Eventually(t, func() bool { return s.e.Stats().FramesOut >= 4 }, wait, time.Millisecond, "Welcome and Pong, twice")
}

// TestPushedSessionsHaveNoReader: once open, a KCP session (a
// netcode.Pusher) is read by the transport's event loop, not by a reader
// goroutine of its own; its frames are still handled (Ping → Pong, in
// order), and when its peer leaves the session is torn down as a reader
// would (counted, the services told, forgotten).
func TestPushedSessionsHaveNoReader(t *testing.T) {
	s := startNet(t, Config{})
	const n = 5
	var peers []*peertest.Peer
	for i := range n {
		p := s.session("kcp", fmt.Sprintf("k%d", i))
		ping(t, p)
		peers = append(peers, p)
	}
	tp := s.session("tcp", "t")
	ping(t, tp)
	// A reader hands over, then returns: its count drops just after.
	assert.Eventually(t, func() bool { return s.e.readers.Load() == 1 }, wait, time.Millisecond, "one reader goroutine: the TCP session's")
	for range 3 { // pushed frames keep their order and answers
		for _, p := range peers {
			ping(t, p)
		}
	}
	require.EqualValues(t, n+1, s.e.Stats().SessionsOpen)
	require.NoError(t, peers[0].Conn.Close(netcode.CodeOK, "bye"))
	require.Eventually(t, func() bool { return s.e.Stats().SessionsOpen == n }, wait, time.Millisecond,
		"the pushed session is torn down when its peer leaves")
	assert.EqualValues(t, 1, s.e.Stats().Closes[netcode.CodeOK.String()], "its close is counted")
}
