package loop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kcpgo "github.com/xtaci/kcp-go/v5"
)

// KCP commands, as on the wire.
const (
	cmdPush = 81
	cmdAck  = 82
)

// segments lists the KCP commands in one packet (after the headroom).
func segments(t *testing.T, p []byte) []byte {
	t.Helper()
	var cmds []byte
	for len(p) > 0 {
		require.GreaterOrEqual(t, len(p), 24, "truncated KCP header")
		n := int(binary.LittleEndian.Uint32(p[20:]))
		require.GreaterOrEqual(t, len(p)-24, n, "truncated KCP segment")
		cmds = append(cmds, p[4])
		p = p[24+n:]
	}
	return cmds
}

var srvAddr = netip.MustParseAddrPort("127.0.0.1:7777")

// link is a fake socket between a server Loop and a client Loop holding
// the other end of every session: it carries whole batches, drops what
// is addressed to a vanished peer, and counts.
type link struct {
	t        *testing.T
	srv, cli *Loop
	ss, cs   []*Session // ss[i] and cs[i] are the two ends of session i
	byAddr   map[netip.AddrPort]*Session
	vanished map[uint64]bool // client ends that no longer answer
	clock    time.Time
}

func newLink(t *testing.T, n int, cfg Config) *link {
	t.Helper()
	srv, err := New(cfg)
	require.NoError(t, err)
	cli, err := New(cfg)
	require.NoError(t, err)
	k := &link{t: t, srv: srv, cli: cli, byAddr: map[netip.AddrPort]*Session{},
		vanished: map[uint64]bool{}, clock: time.Unix(1_000_000, 0)}
	for i := range n {
		addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(20000+i))
		conv := uint32(1000 + i)
		k.ss = append(k.ss, srv.Add(uint64(i), conv, addr))
		c := cli.Add(uint64(i), conv, srvAddr)
		k.cs = append(k.cs, c)
		k.byAddr[addr] = c
	}
	return k
}

// toClients delivers a server batch; returns how many datagrams each
// client session got.
func (k *link) toClients(batch []Datagram) map[uint64]int {
	got := map[uint64]int{}
	for _, d := range batch {
		c := k.byAddr[d.Addr]
		require.NotNil(k.t, c, "datagram to an unknown address %v", d.Addr)
		got[c.ID]++
		if k.vanished[c.ID] {
			continue
		}
		require.NoError(k.t, k.cli.Input(c, d.B[k.srv.cfg.Headroom:], k.clock))
	}
	return got
}

// toServer delivers a client batch.
func (k *link) toServer(batch []Datagram) {
	for _, d := range batch {
		require.Equal(k.t, srvAddr, d.Addr)
		require.NoError(k.t, k.srv.Input(k.ss[d.Session.ID], d.B[k.cli.cfg.Headroom:], k.clock))
	}
}

func recvAll(t *testing.T, l *Loop, s *Session) []string {
	t.Helper()
	var msgs []string
	buf := make([]byte, 2048)
	for {
		n, err := l.Recv(s, buf)
		require.NoError(t, err)
		if n == 0 {
			return msgs
		}
		msgs = append(msgs, string(buf[:n]))
	}
}

func TestFlushLinkname(t *testing.T) {
	// kcpFlush reaches kcp-go's unexported flush: a Send goes out on the
	// Flush right after it, not on the core's next interval tick.
	k := newLink(t, 1, Config{})
	require.NoError(t, k.srv.Send(k.ss[0], []byte("hello")))
	batch := k.srv.Flush(k.clock)
	require.Len(t, batch, 1)
	assert.Equal(t, []byte{cmdPush}, segments(t, batch[0].B))
	assert.True(t, bytes.HasSuffix(batch[0].B, []byte("hello")))
	at, ok := k.ss[0].Scheduled()
	require.True(t, ok, "data in flight keeps the session scheduled")
	assert.Equal(t, k.clock.Add(10*time.Millisecond), at, "due one interval later")
}

func TestOneBatchCarriesEverySession(t *testing.T) {
	const n = 100
	k := newLink(t, n, Config{Headroom: 13})
	for i, s := range k.ss {
		require.NoError(t, k.srv.Send(s, fmt.Appendf(nil, "tick for %d", i)))
	}
	batch := k.srv.Flush(k.clock)
	require.Len(t, batch, n, "one datagram per session, all in one batch")
	seen := map[uint64]bool{}
	for _, d := range batch {
		seen[d.Session.ID] = true
		assert.Equal(t, d.Session.Addr, d.Addr)
		assert.Len(t, d.B[:13], 13, "headroom reserved in front")
	}
	assert.Len(t, seen, n)
	got := k.toClients(batch)
	for i, c := range k.cs {
		assert.Equal(t, 1, got[uint64(i)])
		assert.Equal(t, []string{fmt.Sprintf("tick for %d", i)}, recvAll(t, k.cli, c))
	}
	assert.Empty(t, k.srv.Flush(k.clock), "nothing new: an empty batch")
}

func TestAckRidesOnData(t *testing.T) {
	k := newLink(t, 2, Config{})
	for _, c := range k.cs {
		require.NoError(t, k.cli.Send(c, []byte("input")))
	}
	k.toServer(k.cli.Flush(k.clock))
	for _, s := range k.ss {
		assert.Equal(t, []string{"input"}, recvAll(t, k.srv, s))
	}
	assert.Empty(t, k.srv.Flush(k.clock), "ACKs wait AckDelay for data to ride on")

	// Session 0 gets a broadcast within the delay: its ACK rides on it.
	k.clock = k.clock.Add(3 * time.Millisecond)
	require.NoError(t, k.srv.Send(k.ss[0], []byte("broadcast")))
	batch := k.srv.Flush(k.clock)
	require.Len(t, batch, 1)
	assert.Equal(t, k.ss[0], batch[0].Session)
	assert.Equal(t, []byte{cmdAck, cmdPush}, segments(t, batch[0].B), "one datagram: the ACK and the data")

	// Session 1 gets nothing: its ACK goes alone once the delay is over.
	at, ok := k.ss[1].Scheduled()
	require.True(t, ok)
	assert.Empty(t, k.srv.Flush(at.Add(-time.Millisecond)))
	batch = k.srv.Flush(at)
	require.Len(t, batch, 1)
	assert.Equal(t, k.ss[1], batch[0].Session)
	assert.Equal(t, []byte{cmdAck}, segments(t, batch[0].B))
	_, ok = k.ss[1].Scheduled()
	assert.False(t, ok, "nothing in flight: an idle session leaves the heap")
}

func TestNoAckDelay(t *testing.T) {
	k := newLink(t, 1, Config{AckDelay: -1})
	require.NoError(t, k.cli.Send(k.cs[0], []byte("input")))
	k.toServer(k.cli.Flush(k.clock))
	batch := k.srv.Flush(k.clock)
	require.Len(t, batch, 1)
	assert.Equal(t, []byte{cmdAck}, segments(t, batch[0].B))
}

func TestFullWindowOrVanishedPeerDoesNotStallOthers(t *testing.T) {
	const window = 8
	k := newLink(t, 3, Config{SendWindow: window, RecvWindow: window})
	stuck, vanished, ok := k.ss[0], k.ss[1], k.ss[2]
	k.vanished[vanished.ID] = true
	// The client end of "stuck" is alive but never reads: its receive
	// window fills and it stops acknowledging beyond it.
	i := 0
	for ; i < 10*window; i++ {
		err := k.srv.Send(stuck, []byte("x"))
		if err != nil {
			require.ErrorIs(t, err, ErrWindowFull)
			break
		}
	}
	assert.Equal(t, window, i, "Send refuses at a full window, it never blocks")
	for range 10 * window {
		if err := k.srv.Send(vanished, []byte("y")); err != nil {
			require.ErrorIs(t, err, ErrWindowFull)
			break
		}
	}
	assert.Equal(t, window, vanished.Pending())

	for round := range 50 {
		want := fmt.Sprintf("round %d", round)
		require.NoError(t, k.cli.Send(k.cs[ok.ID], []byte(want)))
		k.toServer(k.cli.Flush(k.clock))
		require.Equal(t, []string{want}, recvAll(t, k.srv, ok), "the healthy session is served every round")
		require.NoError(t, k.srv.Send(ok, []byte(want)))
		if err := k.srv.Send(stuck, []byte("x")); err != nil {
			require.ErrorIs(t, err, ErrWindowFull) // refused at once, never a wait
		}
		assert.ErrorIs(t, k.srv.Send(vanished, []byte("y")), ErrWindowFull)
		got := k.toClients(k.srv.Flush(k.clock))
		assert.Equal(t, 1, got[ok.ID], "round %d", round)
		require.Equal(t, []string{want}, recvAll(t, k.cli, k.cs[ok.ID]))
		k.toServer(k.cli.Flush(k.clock.Add(20 * time.Millisecond)))
		k.clock = k.clock.Add(33 * time.Millisecond)
	}
	assert.Equal(t, uint64(51), vanished.Refused())
	assert.Equal(t, window, stuck.Pending(), "the reader that never reads closed its window")
	assert.Positive(t, stuck.Refused())
	assert.Equal(t, window, vanished.Pending(), "still in flight: the peer never answered")
	_, scheduled := vanished.Scheduled()
	assert.True(t, scheduled, "a session with data in flight stays due for retransmission")
	assert.Zero(t, ok.Pending(), "everything the healthy session sent was acknowledged")

	// The vanished peer's retransmission timeout fires (forced: kcp-go
	// keeps its own clock) in the pass that also carries the healthy
	// session's data: both go out in one batch, the retransmissions
	// bounded by the window.
	vanished.kcp.ResetRTO()
	if at, _ := vanished.Scheduled(); at.After(k.clock) {
		k.clock = at
	}
	require.NoError(t, k.srv.Send(ok, []byte("after")))
	batch := k.srv.Flush(k.clock)
	segs := map[uint64]int{}
	for _, d := range batch {
		segs[d.Session.ID] += len(segments(t, d.B))
	}
	assert.Equal(t, window, segs[vanished.ID], "every unacknowledged segment once, no more")
	assert.Positive(t, segs[ok.ID], "the healthy session's data is in the same batch")
	k.toClients(batch)
	assert.Equal(t, []string{"after"}, recvAll(t, k.cli, k.cs[ok.ID]))
}

func TestDueOrder(t *testing.T) {
	k := newLink(t, 3, Config{})
	// Each session owes an ACK from a datagram heard at a different time.
	base := k.clock
	for i, d := range []time.Duration{7, 2, 5} {
		require.NoError(t, k.cli.Send(k.cs[i], []byte("in")))
		k.clock = base.Add(d * time.Millisecond)
		k.toServer(k.cli.Flush(k.clock))
	}
	next, ok := k.srv.NextDue()
	require.True(t, ok)
	assert.Equal(t, base.Add(12*time.Millisecond), next, "session 1: heard at +2 ms, AckDelay 10 ms")
	var order []uint64
	for _, at := range []time.Duration{11, 12, 14, 15, 16, 17} {
		for _, d := range k.srv.Flush(base.Add(at * time.Millisecond)) {
			order = append(order, d.Session.ID)
		}
	}
	assert.Equal(t, []uint64{1, 2, 0}, order)
	_, ok = k.srv.NextDue()
	assert.False(t, ok, "every ACK sent: nothing is due")
	assert.Equal(t, uint64(3), k.srv.Stats().Flushes, "no flush before a session was due")
}

func TestRemove(t *testing.T) {
	t.Run("before flush", func(t *testing.T) {
		k := newLink(t, 3, Config{})
		for _, s := range k.ss {
			require.NoError(t, k.srv.Send(s, []byte("m")))
		}
		require.NoError(t, k.cli.Send(k.cs[1], []byte("in")))
		k.toServer(k.cli.Flush(k.clock)) // session 1 also owes an ACK (scheduled)
		k.srv.Remove(k.ss[1])
		k.srv.Remove(k.ss[1]) // idempotent
		batch := k.srv.Flush(k.clock)
		require.Len(t, batch, 2)
		for _, d := range batch {
			assert.NotEqual(t, uint64(1), d.Session.ID, "a removed session emits nothing")
		}
		assert.ErrorIs(t, k.srv.Send(k.ss[1], []byte("m")), ErrRemoved)
		assert.ErrorIs(t, k.srv.Input(k.ss[1], []byte("whatever"), k.clock), ErrRemoved)
		_, err := k.srv.Recv(k.ss[1], make([]byte, 10))
		assert.ErrorIs(t, err, ErrRemoved)
		assert.Equal(t, 2, k.srv.Stats().Sessions)
	})
	t.Run("while writing the batch", func(t *testing.T) {
		k := newLink(t, 4, Config{})
		for _, s := range k.ss {
			require.NoError(t, k.srv.Send(s, []byte("last words")))
		}
		batch := k.srv.Flush(k.clock)
		require.Len(t, batch, 4)
		before := make([][]byte, len(batch))
		for i, d := range batch {
			before[i] = bytes.Clone(d.B)
		}
		for i, d := range batch { // e.g. a write to this address failed
			k.srv.Remove(d.Session)
			assert.Equal(t, before[i], d.B, "the batch is not touched by Remove")
		}
		assert.Equal(t, 0, k.srv.Stats().Sessions)
		_, ok := k.srv.NextDue()
		assert.False(t, ok, "removed sessions leave the heap")
		k.clock = k.clock.Add(time.Second)
		assert.Empty(t, k.srv.Flush(k.clock))
	})
}

func TestBadInput(t *testing.T) {
	k := newLink(t, 1, Config{})
	assert.ErrorIs(t, k.srv.Input(k.ss[0], make([]byte, 24), k.clock), ErrBadPacket, "wrong conv")
	assert.ErrorIs(t, k.srv.Input(k.ss[0], []byte{1, 2, 3}, k.clock), ErrBadPacket, "short")
	assert.Equal(t, uint64(2), k.srv.Stats().BadInput)
}

func TestBadConfig(t *testing.T) {
	for name, c := range map[string]Config{
		"tiny mtu":          {MTU: 24},
		"huge mtu":          {MTU: maxChunk + 1},
		"negative window":   {SendWindow: -1},
		"negative headroom": {Headroom: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(c)
			assert.ErrorIs(t, err, ErrBadConfig)
		})
	}
}

func TestLargeMessageFragments(t *testing.T) {
	k := newLink(t, 1, Config{MTU: 200})
	msg := bytes.Repeat([]byte("z"), 1000)
	require.NoError(t, k.srv.Send(k.ss[0], msg))
	batch := k.srv.Flush(k.clock)
	assert.Greater(t, len(batch), 1)
	k.toClients(batch)
	assert.Equal(t, 1000, k.cs[0].PeekSize())
	_, err := k.cli.Recv(k.cs[0], make([]byte, 10))
	assert.ErrorIs(t, err, ErrShortBuffer)
	assert.Equal(t, []string{string(msg)}, recvAll(t, k.cli, k.cs[0]))
}

// TestSteadyStateAllocs: a round (an input in and a broadcast out for
// each of 8 sessions, one Flush each side) allocates nothing in the Loop
// once its buffers are warm. kcp-go's core allocates 4 times per message
// (2 on each side: its buffer pool boxes a slice on Put, its receive heap
// boxes a segment on Push and Pop), the same under a UDPSession.
func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	k := newLink(t, 8, Config{})
	in := make([][]byte, 8)
	buf := make([]byte, 2048)
	round := func() {
		for _, c := range k.cs {
			require.NoError(t, k.cli.Send(c, []byte("input")))
		}
		for _, d := range k.cli.Flush(k.clock) {
			in[d.Session.ID] = append(in[d.Session.ID][:0], d.B...)
		}
		for i, s := range k.ss {
			require.NoError(t, k.srv.Input(s, in[i], k.clock))
			n, err := k.srv.Recv(s, buf)
			require.NoError(t, err)
			require.Equal(t, 5, n)
			require.NoError(t, k.srv.Send(s, buf[:n]))
		}
		// Server output: each session's broadcast, and before it the ACK
		// of its input when that input acknowledged the previous
		// broadcast (kcp-go's Input flushes at once when una advances).
		for _, d := range k.srv.Flush(k.clock) {
			require.NoError(t, k.cli.Input(k.byAddr[d.Addr], d.B, k.clock))
		}
		for _, c := range k.cs {
			n, err := k.cli.Recv(c, buf)
			require.NoError(t, err)
			require.Equal(t, 5, n)
		}
		k.clock = k.clock.Add(33 * time.Millisecond)
	}
	for range 20 {
		round()
	}
	allocs := testing.AllocsPerRun(50, round)
	const messages = 16
	assert.LessOrEqual(t, allocs, 4.0*messages, "allocations per round of 8 sessions both ways")
}

func TestSRTTField(t *testing.T) {
	// SRTT reads kcp-go's rx_srtt by reflection: the field must still be
	// there, and the value must move once an acknowledgement comes back.
	require.True(t, srttOK, "kcp-go's KCP.rx_srtt is gone or retyped: SRTT needs another way in")
	k := newLink(t, 1, Config{})
	assert.Zero(t, k.ss[0].SRTT(), "no acknowledgement yet")
	require.NoError(t, k.srv.Send(k.ss[0], []byte("ping")))
	k.toClients(k.srv.Flush(k.clock))
	time.Sleep(3 * time.Millisecond) // kcp-go timestamps segments with its own wall clock: let it move
	k.toServer(k.cli.Flush(k.clock.Add(time.Hour)))
	assert.Positive(t, k.ss[0].SRTT(), "the ACK gave an RTT sample")
}

func TestAckOfAnAckingInputRidesOnTheBroadcast(t *testing.T) {
	// The client's input acknowledges the server's last broadcast, which
	// makes kcp-go flush at once inside Input. The loop holds that
	// ACK-only packet: the next broadcast within AckDelay carries it (one
	// datagram), and without one it goes alone when the delay is over.
	k := newLink(t, 2, Config{})
	for _, s := range k.ss { // a broadcast in flight to both clients
		require.NoError(t, k.srv.Send(s, []byte("tick 1")))
	}
	k.toClients(k.srv.Flush(k.clock))
	for _, c := range k.cs {
		require.Equal(t, []string{"tick 1"}, recvAll(t, k.cli, c))
		require.NoError(t, k.cli.Send(c, []byte("input"))) // rides with the client's ACK of tick 1
	}
	k.clock = k.clock.Add(time.Millisecond)
	k.toServer(k.cli.Flush(k.clock))
	for _, s := range k.ss {
		require.Zero(t, s.Pending(), "the input acknowledged tick 1")
		require.Equal(t, []string{"input"}, recvAll(t, k.srv, s))
	}
	st := k.srv.Stats()
	assert.EqualValues(t, 2, st.HeldAcks, "kcp-go flushed an ACK inside each Input; both were held")
	assert.Empty(t, k.srv.Flush(k.clock), "held, not sent")

	k.clock = k.clock.Add(3 * time.Millisecond)
	require.NoError(t, k.srv.Send(k.ss[0], []byte("tick 2")))
	batch := k.srv.Flush(k.clock)
	require.Len(t, batch, 1, "one datagram for session 0: the held ACK and the broadcast")
	assert.Equal(t, k.ss[0], batch[0].Session)
	assert.Equal(t, []byte{cmdAck, cmdPush}, segments(t, batch[0].B))
	assert.EqualValues(t, 1, k.srv.Stats().MergedAcks)

	at, ok := k.ss[1].Scheduled()
	require.True(t, ok, "session 1 is due when its ACK may wait no longer")
	assert.Empty(t, k.srv.Flush(at.Add(-time.Millisecond)))
	batch = k.srv.Flush(at)
	require.Len(t, batch, 1)
	assert.Equal(t, k.ss[1], batch[0].Session)
	assert.Equal(t, []byte{cmdAck}, segments(t, batch[0].B), "the held ACK alone")
	got := k.toClients(batch)
	assert.Equal(t, 1, got[1])
	require.NoError(t, k.cli.Send(k.cs[1], []byte("next")))
	k.toServer(k.cli.Flush(at))
	assert.Equal(t, []string{"next"}, recvAll(t, k.srv, k.ss[1]))
}

func TestSteadySenderHoldsAcksForItsNextSend(t *testing.T) {
	// The server ticks session 0 every 33 ms. An input heard 5 ms after a
	// tick owes an ACK: with MaxAckHold it waits for the next tick (28 ms
	// later, plus the slack) instead of AckDelay, and rides on it.
	const period = 33 * time.Millisecond
	k := newLink(t, 1, Config{MaxAckHold: 40 * time.Millisecond})
	s, c := k.ss[0], k.cs[0]
	tick := func(i int) []Datagram {
		require.NoError(t, k.srv.Send(s, fmt.Appendf(nil, "tick %d", i)))
		return k.srv.Flush(k.clock)
	}
	for i := range 4 { // the server learns the rate; the client acknowledges each tick at once
		k.toClients(tick(i))
		require.Equal(t, []string{fmt.Sprintf("tick %d", i)}, recvAll(t, k.cli, c))
		k.toServer(k.cli.Flush(k.clock.Add(time.Hour)))
		k.clock = k.clock.Add(period)
	}
	lastTick := k.clock.Add(-period)
	k.clock = lastTick.Add(5 * time.Millisecond)
	require.NoError(t, k.cli.Send(c, []byte("input")))
	k.toServer(k.cli.Flush(k.clock))
	require.Equal(t, []string{"input"}, recvAll(t, k.srv, s))
	at, ok := s.Scheduled()
	require.True(t, ok)
	assert.Equal(t, lastTick.Add(period+ackSlack), at, "due just after the next expected tick, not AckDelay after the input")
	assert.Empty(t, k.srv.Flush(k.clock.Add(10*time.Millisecond)), "AckDelay passed: still held for the tick")

	k.clock = lastTick.Add(period)
	batch := tick(4)
	require.Len(t, batch, 1, "the tick carries the ACK: one datagram")
	assert.Equal(t, []byte{cmdAck, cmdPush}, segments(t, batch[0].B))

	// A session with no steady rate keeps AckDelay.
	k2 := newLink(t, 1, Config{MaxAckHold: 40 * time.Millisecond})
	require.NoError(t, k2.cli.Send(k2.cs[0], []byte("chat")))
	k2.toServer(k2.cli.Flush(k2.clock))
	at, ok = k2.ss[0].Scheduled()
	require.True(t, ok)
	assert.Equal(t, k2.clock.Add(10*time.Millisecond), at)
}

// TestAckWithinBoundsTheHold: a session whose peer is expected to send
// redundant copies (AckWithin set by the owner) lets its ACKs wait no
// longer than AckWithin, even while the steady-rate hold would keep them
// for the next tick; ACKs due sooner anyway are not delayed by it.
func TestAckWithinBoundsTheHold(t *testing.T) {
	const period = 33 * time.Millisecond
	k := newLink(t, 1, Config{MaxAckHold: 40 * time.Millisecond})
	s, c := k.ss[0], k.cs[0]
	for i := range 4 { // a steady 30 Hz sender, as in TestSteadySenderHoldsAcksForItsNextSend
		require.NoError(t, k.srv.Send(s, fmt.Appendf(nil, "tick %d", i)))
		k.toClients(k.srv.Flush(k.clock))
		require.Len(t, recvAll(t, k.cli, c), 1)
		k.toServer(k.cli.Flush(k.clock.Add(time.Hour)))
		k.clock = k.clock.Add(period)
	}
	k.clock = k.clock.Add(-period + 5*time.Millisecond)
	s.AckWithin = 250 * time.Microsecond
	require.NoError(t, k.cli.Send(c, []byte("input")))
	k.toServer(k.cli.Flush(k.clock))
	require.Equal(t, []string{"input"}, recvAll(t, k.srv, s))
	at, ok := s.Scheduled()
	require.True(t, ok)
	assert.Equal(t, k.clock.Add(250*time.Microsecond), at, "the ACK leaves within AckWithin, not at the next tick")
	assert.Empty(t, k.srv.Flush(k.clock.Add(249*time.Microsecond)))
	batch := k.srv.Flush(at)
	require.Len(t, batch, 1)
	assert.Equal(t, []byte{cmdAck}, segments(t, batch[0].B))

	// A bound longer than AckDelay changes nothing for a session without
	// a steady rate.
	k2 := newLink(t, 1, Config{MaxAckHold: 40 * time.Millisecond})
	k2.ss[0].AckWithin = time.Second
	require.NoError(t, k2.cli.Send(k2.cs[0], []byte("chat")))
	k2.toServer(k2.cli.Flush(k2.clock))
	at, ok = k2.ss[0].Scheduled()
	require.True(t, ok)
	assert.Equal(t, k2.clock.Add(10*time.Millisecond), at)
}

func TestShrinkRings(t *testing.T) {
	// A fresh core's rings start at ringStart slots (kcp-go makes 64) and
	// grow with traffic: a burst of 100 messages in flight and received
	// goes through whole and in order.
	require.True(t, layoutOK, "kcp-go's KCP changed: newCore needs another way in")
	k := newLink(t, 1, Config{})
	for _, name := range ringNames {
		assert.Equal(t, ringStart, ringCap(k.ss[0].kcp, name), name)
	}
	var want []string
	for i := range 100 {
		m := fmt.Sprintf("message %d", i)
		want = append(want, m)
		require.NoError(t, k.srv.Send(k.ss[0], []byte(m)))
	}
	assert.Greater(t, ringCap(k.ss[0].kcp, "snd_queue"), ringStart, "grown by the burst")
	for range 10 {
		k.toClients(k.srv.Flush(k.clock))
		k.toServer(k.cli.Flush(k.clock))
		k.clock = k.clock.Add(20 * time.Millisecond)
	}
	assert.Equal(t, want, recvAll(t, k.cli, k.cs[0]))
}

// TestCoreTemplate: a session's core, copied from its Loop's template,
// is what kcp-go's NewKCP and the Loop's tuning would make (every field
// equal but those it owns: conversation id, output, flush buffer, rings,
// receive heap), and owns those (none shared with the template or
// another core).
func TestCoreTemplate(t *testing.T) {
	require.True(t, layoutOK, "kcp-go's KCP changed: newCore needs another way in")
	for name, cfg := range map[string]Config{
		"default":  {},
		"balanced": {Interval: 20 * time.Millisecond, SendWindow: 128, RecvWindow: 128, MTU: 1171, Headroom: 13, Tailroom: 16},
		"slow":     {SlowRTO: true, FastResend: -1, MTU: 500},
	} {
		t.Run(name, func(t *testing.T) {
			l, err := New(cfg)
			require.NoError(t, err)
			var outs int
			a := l.Add(1, 77, srvAddr)
			b := l.Add(2, 78, srvAddr)
			want := l.tune(kcpgo.NewKCP(77, func([]byte, int) { outs++ }))
			own := map[string]bool{"conv": true, "output": true, "buffer": true, "rcv_buf": true}
			for _, r := range ringNames {
				own[r] = true
			}
			typ := reflect.TypeFor[kcpgo.KCP]()
			for i := range typ.NumField() {
				f := typ.Field(i)
				got := field(a.kcp, f)
				switch {
				case f.Name == "conv":
					assert.Equal(t, uint32(77), got.Interface())
				case f.Name == "buffer":
					assert.Equal(t, flushBuffer(l.cfg.MTU), got.Len(), "flush buffer for the MTU")
					assert.Less(t, got.Len(), field(want, f).Len())
					assert.NotEqual(t, field(l.tmpl, f).Pointer(), got.Pointer())
					assert.NotEqual(t, field(b.kcp, f).Pointer(), got.Pointer())
				case f.Name == "output": // the batch below shows whose output each core calls
					require.False(t, got.IsNil())
				case f.Type.Kind() == reflect.Func:
					assert.Equal(t, field(want, f).IsNil(), got.IsNil(), f.Name)
				case own[f.Name]:
					require.False(t, got.IsNil(), f.Name)
					assert.NotEqual(t, field(b.kcp, f).Pointer(), got.Pointer(), f.Name)
					assert.NotEqual(t, field(l.tmpl, f).Pointer(), got.Pointer(), f.Name)
				default:
					assert.Equal(t, field(want, f).Interface(), got.Interface(), f.Name)
				}
			}
			for _, r := range ringNames {
				assert.Equal(t, ringStart, ringCap(a.kcp, r), r)
			}
			// Each core writes through its own output.
			require.NoError(t, l.Send(a, []byte("to a")))
			require.NoError(t, l.Send(b, []byte("to b")))
			batch := l.Flush(time.Unix(1_000_000, 0))
			require.Len(t, batch, 2)
			assert.Equal(t, []*Session{a, b}, []*Session{batch[0].Session, batch[1].Session})
			assert.Equal(t, uint32(77), binary.LittleEndian.Uint32(batch[0].B[l.cfg.Headroom:]))
			assert.Equal(t, uint32(78), binary.LittleEndian.Uint32(batch[1].B[l.cfg.Headroom:]))
			assert.Zero(t, outs)
		})
	}
}

// field reads k's field f (unexported: through its address).
func field(k *kcpgo.KCP, f reflect.StructField) reflect.Value {
	return reflect.NewAt(f.Type, unsafe.Add(unsafe.Pointer(k), f.Offset)).Elem()
}

// ringCap is the slots of k's ring name.
func ringCap(k *kcpgo.KCP, name string) int {
	f := reflect.ValueOf(k).Elem().FieldByName(name)
	return f.Elem().FieldByName("elements").Len()
}
