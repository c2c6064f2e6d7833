package kcp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestClientSocketCarriesManySessions: sessions dialed through one shared
// socket are separate sessions on the server (told apart by token, all
// from one address); each gets its own replies; closing one leaves the
// others; closing the socket ends the rest, and the server hears it.
func TestClientSocketCarriesManySessions(t *testing.T) {
	const n = 40
	l, err := Listen("127.0.0.1:0", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	sock, err := NewClientSocket("127.0.0.1:0", Config{})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clients := make([]*Conn, n)
	servers := make([]*Conn, n)
	for i := range clients {
		clients[i], err = Dialer{Addr: l.Addr().String(), Socket: sock}.dialKCP(ctx)
		require.NoError(t, err)
		servers[i], err = l.AcceptKCP()
		require.NoError(t, err)
		assert.Equal(t, sock.Addr().String(), servers[i].RemoteAddr().String(), "every session comes from the shared socket")
	}
	assert.Equal(t, n, l.SessionCount())
	assert.Equal(t, n, sock.Sessions())

	ins := make([]<-chan conntest.Msg, n)
	for i, s := range servers {
		ins[i] = conntest.Pump(t, s)
	}
	for i, c := range clients {
		require.NoError(t, c.WriteMessage(netcode.Reliable, fmt.Appendf(nil, "from %d", i)))
	}
	for i := range servers {
		m := conntest.Recv(t, ins[i], 5*time.Second)
		require.NoError(t, m.Err)
		assert.Equal(t, fmt.Sprintf("from %d", i), string(m.Data), "each server session hears its own client only")
	}

	require.NoError(t, clients[0].Close(netcode.CodeOK, "one leaves"))
	m := conntest.Recv(t, ins[0], 5*time.Second)
	var ce *netcode.CloseError
	require.ErrorAs(t, m.Err, &ce)
	assert.Equal(t, "one leaves", ce.Reason)
	require.NoError(t, clients[1].WriteMessage(netcode.Reliable, []byte("still here")))
	m = conntest.Recv(t, ins[1], 5*time.Second)
	require.NoError(t, m.Err, "the socket outlives one of its sessions")
	assert.Equal(t, "still here", string(m.Data))

	require.NoError(t, sock.Close())
	for i := 1; i < n; i++ {
		m := conntest.Recv(t, ins[i], 5*time.Second)
		require.ErrorAs(t, m.Err, &ce, "session %d hears the socket close", i)
	}
	require.ErrorIs(t, clients[2].WriteMessage(netcode.Reliable, []byte("x")), netcode.ErrClosed)
}

// TestQueueAndFlush: QueueMessages sends nothing by itself until Flush (or
// the loop's interval); one Flush sends what several sessions queued; a
// peer that never reads fills the window and QueueMessages refuses with
// ErrQueueFull at once instead of waiting.
func TestQueueAndFlush(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	sock, err := NewClientSocket("127.0.0.1:0", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sock.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var srv [2]*Conn
	var ins [2]<-chan conntest.Msg
	for i := range srv {
		c, err := sock.Dial(ctx, l.Addr().String())
		require.NoError(t, err)
		ins[i] = conntest.Pump(t, c)
		srv[i], err = l.AcceptKCP()
		require.NoError(t, err)
	}
	// A queued message with nobody flushing still leaves, within the interval.
	require.NoError(t, srv[0].QueueMessages(netcode.Reliable, [][]byte{[]byte("unflushed")}))
	m := conntest.Recv(t, ins[0], 5*time.Second)
	require.NoError(t, m.Err)
	assert.Equal(t, "unflushed", string(m.Data))

	// One Flush on one session sends what both queued.
	for i, s := range srv {
		require.NoError(t, s.QueueMessages(netcode.Reliable, [][]byte{fmt.Appendf(nil, "tick for %d", i)}))
	}
	srv[1].Flush()
	for i := range srv {
		m := conntest.Recv(t, ins[i], 5*time.Second)
		require.NoError(t, m.Err)
		assert.Equal(t, fmt.Sprintf("tick for %d", i), string(m.Data))
	}

	// A peer that never reads: what it does not take stays
	// unacknowledged, our send window fills, and QueueMessages refuses at
	// once instead of waiting (the sans-IO loop tests cover the receive
	// window closing; here the burst outruns it).
	_, err = sock.Dial(ctx, l.Addr().String()) // never read
	require.NoError(t, err)
	dsrv, err := l.AcceptKCP()
	require.NoError(t, err)
	msg := make([]byte, 1000)
	var qerr error
	for range 1000 {
		if qerr = dsrv.QueueMessages(netcode.Reliable, [][]byte{msg}); qerr != nil {
			break
		}
		dsrv.Flush()
	}
	require.ErrorIs(t, qerr, netcode.ErrQueueFull)
	// The other sessions of the loop are served meanwhile.
	require.NoError(t, srv[0].WriteMessage(netcode.Reliable, []byte("unstalled")))
	m = conntest.Recv(t, ins[0], 5*time.Second)
	require.NoError(t, m.Err)
	assert.Equal(t, "unstalled", string(m.Data))
}

// dialKCP is Dial returning the concrete type.
func (d Dialer) dialKCP(ctx context.Context) (*Conn, error) {
	c, err := d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return c.(*Conn), nil
}

// TestListenerLoopsShareThePort: a listener with several event loops
// binds one port with several sockets; clients from different addresses
// spread over the loops, and every session is served by the loop whose
// socket took its handshake.
func TestListenerLoopsShareThePort(t *testing.T) {
	if !reusePortSupported {
		t.Skip("SO_REUSEPORT: Linux only; elsewhere a Listener runs one loop")
	}
	const loops, n = 4, 32
	l, err := Listen("127.0.0.1:0", Config{Loops: loops})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	require.Equal(t, loops, l.Loops())
	require.Equal(t, loops, l.Stats().Loops)
	for _, e := range l.eps {
		assert.Equal(t, l.Addr().String(), e.pc.LocalAddr().String(), "every loop's socket is on the one port")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	perLoop := map[*endpoint]int{}
	for i := range n {
		c, err := Dial(ctx, l.Addr().String(), Config{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
		s, err := l.AcceptKCP()
		require.NoError(t, err)
		perLoop[s.ep]++
		in := conntest.Pump(t, c)
		require.NoError(t, s.WriteMessage(netcode.Reliable, fmt.Appendf(nil, "hello %d", i)))
		m := conntest.Recv(t, in, 5*time.Second)
		require.NoError(t, m.Err)
		assert.Equal(t, fmt.Sprintf("hello %d", i), string(m.Data))
	}
	assert.GreaterOrEqual(t, len(perLoop), 2, "32 client addresses land on more than one of 4 loops: %v", perLoop)
	assert.Equal(t, n, l.SessionCount())
}

// TestLoopSlotsFollowSessions: the timer loop's slots (endpoint.conns)
// always hold exactly the live sessions of their loop, each at the index
// it records, whichever sessions end and in whatever order (closed by
// either side, or several timed out in one tick while the timer loop
// walks the slots); the sessions left still tick (heartbeats keep them
// alive).
func TestLoopSlotsFollowSessions(t *testing.T) {
	const n = 12
	cfg := Config{HeartbeatInterval: 20 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}
	l, err := Listen("127.0.0.1:0", Config{Loops: 1, HeartbeatInterval: cfg.HeartbeatInterval, IdleTimeout: cfg.IdleTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	sock, err := NewClientSocket("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sock.Close()) })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clients := make([]*Conn, n)
	servers := make([]*Conn, n)
	for i := range clients {
		clients[i], err = Dialer{Addr: l.Addr().String(), Socket: sock}.dialKCP(ctx)
		require.NoError(t, err)
		servers[i], err = l.AcceptKCP()
		require.NoError(t, err)
	}
	slots := func(e *endpoint) []*Conn {
		e.lmu.Lock()
		defer e.lmu.Unlock()
		var live []*Conn
		for i, s := range e.conns {
			require.Equal(t, i, s.c.slot, "slot %d", i)
			require.False(t, s.c.ended, "slot %d holds an ended session", i)
			live = append(live, s.c)
		}
		return live
	}
	assert.ElementsMatch(t, servers, slots(l.ep))
	assert.ElementsMatch(t, clients, slots(sock.ep))

	// Ends from either side, first, last and middle slots.
	for _, i := range []int{0, n - 1, 5} {
		require.NoError(t, servers[i].Close(netcode.CodeOK, "server ends it"))
	}
	for _, i := range []int{1, 6} {
		require.NoError(t, clients[i].Close(netcode.CodeOK, "client ends it"))
	}
	live := func(cs []*Conn) []*Conn {
		var out []*Conn
		for _, c := range cs {
			select {
			case <-c.done:
			default:
				out = append(out, c)
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return l.SessionCount() == n-5 && sock.Sessions() == n-5 }, 5*time.Second, time.Millisecond)
	assert.ElementsMatch(t, live(servers), slots(l.ep))
	assert.ElementsMatch(t, live(clients), slots(sock.ep))

	// Several sessions time out in the same tick of the server's timer
	// loop: their clients go silent (removed from the socket's loop by
	// hand, as if gone).
	sock.ep.lmu.Lock()
	for _, i := range []int{2, 3, 9} {
		sock.ep.removeConnLocked(clients[i])
		clients[i].ended = true
	}
	sock.ep.lmu.Unlock()
	require.Eventually(t, func() bool { return l.SessionCount() == n-8 }, 5*time.Second, 5*time.Millisecond, "the silent ones time out")
	assert.ElementsMatch(t, live(servers), slots(l.ep))
	for _, i := range []int{4, 7, 8, 10} {
		select {
		case <-servers[i].done:
			t.Fatalf("session %d ended: its heartbeats stopped", i)
		default:
		}
	}
}

// TestPushWithNothingToHandOverFlushesNothing: a Push that finds no
// message for its Receiver flushes nothing (a delivery pass flushes what
// Receivers queued; none ran), so sessions that queue and are pushed one
// after another (the engine pushes right after a handshake's Welcome)
// leave their output to one batched write, where a flush per Push would
// make one each; and everything arrives.
func TestPushWithNothingToHandOverFlushesNothing(t *testing.T) {
	const n = 40
	l, err := Listen("127.0.0.1:0", Config{Loops: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	sock, err := NewClientSocket("127.0.0.1:0", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sock.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := make([]*Conn, n)
	ins := make([]<-chan conntest.Msg, n)
	for i := range srv {
		c, err := sock.Dial(ctx, l.Addr().String())
		require.NoError(t, err)
		ins[i] = conntest.Pump(t, c)
		srv[i], err = l.AcceptKCP()
		require.NoError(t, err)
	}
	writes := func() uint64 { return l.ep.io[ioWriteCalls].Load() }
	before := writes()
	for i, s := range srv {
		require.NoError(t, s.QueueMessages(netcode.Reliable, [][]byte{fmt.Appendf(nil, "welcome %d", i)}))
		s.Push(newRecorder())
	}
	for i := range srv {
		m := conntest.Recv(t, ins[i], 5*time.Second)
		require.NoError(t, m.Err)
		assert.Equal(t, fmt.Sprintf("welcome %d", i), string(m.Data))
	}
	assert.Less(t, writes()-before, uint64(n), "batched: fewer writes than sessions")
}

// TestPrepareKeys: keys made ahead are used by the next sealed dials,
// one each and once; a dial after the last still handshakes with a key
// of its own; the count is bounded.
func TestPrepareKeys(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	sock, err := NewClientSocket("127.0.0.1:0", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sock.Close() })
	require.ErrorIs(t, sock.PrepareKeys(-1), ErrConfig)
	require.ErrorIs(t, sock.PrepareKeys(maxPreparedKeys+1), ErrConfig)
	require.NoError(t, sock.PrepareKeys(2))
	prepared := func() int {
		sock.ep.mu.Lock()
		defer sock.ep.mu.Unlock()
		return len(sock.ep.keys)
	}
	require.Equal(t, 2, prepared())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, left := range []int{1, 0, 0} {
		c, err := Dialer{Addr: l.Addr().String(), Socket: sock}.dialKCP(ctx)
		require.NoError(t, err, "dial %d", i)
		s, err := l.AcceptKCP()
		require.NoError(t, err)
		assert.Equal(t, left, prepared(), "dial %d used one prepared key", i)
		in := conntest.Pump(t, s)
		require.NoError(t, c.WriteMessage(netcode.Reliable, []byte{byte(i)}))
		assert.Equal(t, []byte{byte(i)}, conntest.Recv(t, in, 5*time.Second).Data, "a sealed session")
	}
}
