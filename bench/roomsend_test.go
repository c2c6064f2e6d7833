package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// flushGroup stands for the event loop that several fake sessions share
// (and two sender workers may flush).
type flushGroup struct {
	mu        sync.Mutex // guards the fields below
	unflushed int        // messages queued since the last flush
	flushes   int
}

// queueConn is a session of a fake event-loop transport: it records what
// is queued and written, and Flush flushes its group.
type queueConn struct {
	g                *flushGroup
	inputs, measured int
	pings            int
	seqs             []uint32
	writes           int // WriteMessage calls (a Queuer's sender should not make any)
}

var (
	_ netcode.Conn   = (*queueConn)(nil)
	_ netcode.Queuer = (*queueConn)(nil)
)

func (c *queueConn) record(b []byte) error {
	k, err := frame.Peek(b)
	if err != nil {
		return err
	}
	switch k {
	case frame.KindPing:
		c.pings++
	case frame.KindRoomInput:
		var in frame.RoomInput
		if err := frame.Unmarshal(b, &in); err != nil {
			return err
		}
		c.inputs++
		c.seqs = append(c.seqs, in.Seq)
		if in.Data[12] == 1 {
			c.measured++
		}
	default:
		return errors.New("unexpected kind")
	}
	return nil
}

func (c *queueConn) QueueMessages(_ netcode.Channel, msgs [][]byte) error {
	for _, m := range msgs {
		if err := c.record(m); err != nil {
			return err
		}
		c.g.mu.Lock()
		c.g.unflushed++
		c.g.mu.Unlock()
	}
	return nil
}

func (c *queueConn) Flush() {
	c.g.mu.Lock()
	c.g.unflushed = 0
	c.g.flushes++
	c.g.mu.Unlock()
}

func (c *queueConn) WriteMessage(_ netcode.Channel, p []byte) error {
	c.writes++
	return c.record(p)
}

func (c *queueConn) ReadMessage() (netcode.Channel, []byte, error) { return 0, nil, netcode.ErrClosed }
func (c *queueConn) Close(netcode.Code, string) error              { return nil }
func (c *queueConn) Stats() netcode.Stats                          { return netcode.Stats{} }
func (c *queueConn) Transport() string                             { return "fake" }
func (c *queueConn) LocalAddr() net.Addr                           { return nil }
func (c *queueConn) RemoteAddr() net.Addr                          { return nil }

// newQueuePlayers returns n players on fake event-loop sessions, perGroup
// sharing a flush group, with a 1 s heartbeat.
func newQueuePlayers(clock *roomClock, n, perGroup int) ([]*player, []*queueConn, []*flushGroup) {
	ps := make([]*player, n)
	cs := make([]*queueConn, n)
	gs := make([]*flushGroup, (n+perGroup-1)/perGroup)
	for i := range gs {
		gs[i] = &flushGroup{}
	}
	for i := range ps {
		ps[i] = newPlayer(uint32(i), i/8, i/perGroup, clock)
		cs[i] = &queueConn{g: gs[i/perGroup]}
		ps[i].attach(cs[i])
		ps[i].welcome.HeartbeatMs = 1000
	}
	return ps, cs, gs
}

// On a fake clock, runSenders sends every player's inputs on schedule
// (exactly inputHz per second in the measured window, marked measured,
// with consecutive sequence numbers), a Ping per heartbeat, queues them
// on an event-loop transport and leaves nothing unflushed, with fewer
// flushes than messages when players of a slot share a flush group.
func TestRunSendersSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := &roomClock{base: time.Now()}
		ps, cs, gs := newQueuePlayers(clock, 200, 64)
		var ticks int
		st, err := runSenders(context.Background(), clock, ps, senderConfig{
			ch: netcode.Reliable, size: 64, inputHz: 30,
			measureFrom: time.Second, measureTo: 3 * time.Second,
			tick: func(time.Duration) { ticks++ },
		})
		require.NoError(t, err)
		require.Zero(t, st.failed)
		require.Zero(t, st.restarts)
		require.Less(t, st.late.MaxUs(), 1.0, "on a fake clock no slot starts late")
		require.InDelta(t, 2*1980, st.late.Count(), 40, "2 workers, one lateness per measured slot (2 s of 33 slots of 1.01 ms per 33 ms)")
		var queued, flushes int
		for i, c := range cs {
			require.Zero(t, c.writes, "player %d: an event-loop session is queued, not written", i)
			require.Equal(t, int64(60), ps[i].sent.Load(), "player %d: 2 s measured at 30 Hz", i)
			require.Equal(t, 60, c.measured, "player %d", i)
			require.InDelta(t, 90, c.inputs, 1, "player %d: 3 s at 30 Hz (the schedule's ns rounding may fit one more)", i)
			require.InDelta(t, 2, c.pings, 1, "player %d: one Ping per second", i)
			for j, s := range c.seqs {
				require.Equal(t, uint32(j+1), s, "player %d", i)
			}
			queued += c.inputs + c.pings
		}
		for _, g := range gs {
			require.Zero(t, g.unflushed, "every queued message is flushed")
			flushes += g.flushes
		}
		require.Less(t, flushes, queued/2, "players due together in one flush group are flushed together")
		require.InDelta(t, 3000, ticks, 100, "one tick per 1 ms slot")
	})
}

// A sendWorker flushes a group when the next message is for another
// group and at the end of a slot: groups 0,0,1,1,0 take three flushes.
func TestSendWorkerFlushesPerGroup(t *testing.T) {
	clock := &roomClock{base: time.Now()}
	ps, _, gs := newQueuePlayers(clock, 4, 2)
	ps = append(ps, ps[0])
	sw := newSendWorker(senderConfig{ch: netcode.Unreliable, size: roomHeader, inputHz: 30})
	for _, p := range ps {
		require.NoError(t, sw.send(p))
	}
	sw.flush()
	require.Equal(t, 5, sw.queued)
	require.Equal(t, 3, sw.flushes)
	require.Equal(t, 2, gs[0].flushes)
	require.Equal(t, 1, gs[1].flushes)
}

// A player whose session ended stops sending; the others go on, and the
// failure is reported once. A session whose send queue is full refuses
// the input: it is counted (when measured), and the player goes on.
func TestRunSendersFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := &roomClock{base: time.Now()}
		ps, cs, _ := newQueuePlayers(clock, 3, 1)
		closed := &failConn{queueConn: cs[1], err: netcode.ErrClosed}
		full := &failConn{queueConn: cs[2], err: fmt.Errorf("kcp: window: %w", netcode.ErrQueueFull)}
		ps[1].attach(closed)
		ps[2].attach(full)
		st, err := runSenders(context.Background(), clock, ps, senderConfig{
			ch: netcode.Reliable, size: 64, inputHz: 10, measureFrom: 500 * time.Millisecond, measureTo: time.Second,
		})
		require.Equal(t, int64(1), st.failed)
		require.ErrorIs(t, err, netcode.ErrClosed)
		require.NotErrorIs(t, err, netcode.ErrQueueFull)
		require.True(t, ps[1].failed)
		require.Equal(t, 1, closed.calls, "a failed player is not tried again")
		require.False(t, ps[2].failed)
		require.Equal(t, 10, full.calls, "a refused input does not stop the player")
		require.Equal(t, int64(5), ps[2].refused.Load(), "the measured half is counted")
		require.Zero(t, ps[2].sent.Load())
		require.Zero(t, ps[2].seq, "a refused input takes no sequence number")
		require.Equal(t, 10, cs[0].inputs)
		require.Equal(t, int64(5), ps[0].sent.Load())
	})
}

type failConn struct {
	*queueConn
	err   error
	calls int
}

func (c *failConn) QueueMessages(netcode.Channel, [][]byte) error {
	c.calls++
	return c.err
}

// checkGenerator flags a generator at >= 90% of its cores or below 99% of
// the configured inputs, and nothing else.
func TestCheckGenerator(t *testing.T) {
	cpu := func(pct float64) *ProcUsage { return &ProcUsage{CPUPct: pct} }
	for name, c := range map[string]struct {
		g         *ProcUsage
		cores     int
		sent      float64
		saturated bool
	}{
		"pinned, idle enough":       {g: cpu(80), cores: 1, sent: 29_990},
		"pinned, at the core":       {g: cpu(96), cores: 1, sent: 29_990, saturated: true},
		"pinned, at 90%":            {g: cpu(90), cores: 1, sent: 30_000, saturated: true},
		"inputs short":              {g: cpu(50), cores: 1, sent: 29_500, saturated: true},
		"two cores, one busy":       {g: cpu(150), cores: 2, sent: 30_000},
		"two cores, both busy":      {g: cpu(185), cores: 2, sent: 30_000, saturated: true},
		"in-process, inputs all":    {cores: 1, sent: 30_000},
		"in-process, inputs short":  {cores: 1, sent: 28_000, saturated: true},
		"exactly 99% of the inputs": {g: cpu(10), cores: 1, sent: 29_700},
	} {
		note := checkGenerator(c.g, c.cores, c.sent, 30_000)
		require.Equal(t, c.saturated, note != "", "%s: %q", name, note)
		if c.saturated {
			require.Contains(t, note, "saturated", name)
		}
	}
}

// fakeSocket counts its dials and closes.
type fakeSocket struct {
	mu            sync.Mutex // guards dials and closes
	dials, closes int
}

func (s *fakeSocket) dial(context.Context, string) (netcode.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dials++
	return &queueConn{}, nil
}

func (s *fakeSocket) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closes++
	return nil
}

// A shared fleet opens one socket per perSocket consecutive sessions, on
// first use, from concurrent dials, and closes each once.
func TestFleetSharesSockets(t *testing.T) {
	var mu sync.Mutex // guards opened
	var opened []*fakeSocket
	f := sharedFleet(3, func() (clientSocket, error) {
		mu.Lock()
		defer mu.Unlock()
		s := &fakeSocket{}
		opened = append(opened, s)
		return s, nil
	})
	require.NoError(t, parallel(context.Background(), 7, 4, func(ctx context.Context, i int) error {
		_, err := f.dial(ctx, i, "token")
		return err
	}))
	require.Len(t, opened, 3)
	require.Equal(t, 3, f.numSockets())
	for i, want := range []int{0, 0, 0, 1, 1, 1, 2} {
		require.Equal(t, want, f.group(i), "session %d", i)
	}
	require.NoError(t, f.close())
	require.NoError(t, f.close(), "close is idempotent")
	dials := 0
	for _, s := range opened {
		require.Equal(t, 1, s.closes)
		dials += s.dials
	}
	require.Equal(t, 7, dials)

	boom := errors.New("no socket")
	f = sharedFleet(2, func() (clientSocket, error) { return nil, boom })
	_, err := f.dial(context.Background(), 0, "token")
	require.ErrorIs(t, err, boom)
	require.Zero(t, f.numSockets())
}

// tickBytes encodes a tick of n inputs, every other one measured, sent
// at 1..n ms.
func tickBytes(t testing.TB, n int) []byte {
	tick := frame.RoomTick{RoomID: 1, Tick: 2}
	for i := range n {
		d := make([]byte, 64)
		binary.BigEndian.PutUint64(d, uint64(time.Duration(i+1)*time.Millisecond))
		d[12] = byte((i + 1) % 2)
		tick.Inputs = append(tick.Inputs, frame.TickInput{Member: uint32(i), Seq: 1, Data: d})
	}
	b, err := frame.Marshal(&tick)
	require.NoError(t, err)
	return b
}

// The members of a room sharing its ticks record what they would record
// decoding each tick themselves; a different tick is decoded again, and
// a malformed one is counted as bad by whoever receives it.
func TestRoomTicksShared(t *testing.T) {
	clock := &roomClock{base: time.Now().Add(-time.Second)}
	rt := newRoomTicks()
	solo := newPlayer(9, 0, 0, clock)
	members := []*player{newPlayer(0, 0, 0, clock), newPlayer(1, 0, 0, clock)}
	for _, m := range members {
		m.room = rt
	}
	a, b := tickBytes(t, 8), tickBytes(t, 3)
	for _, tick := range [][]byte{a, b, a} {
		for _, p := range append(members, solo) {
			p.onTick(bytes.Clone(tick))
		}
	}
	for _, p := range append(members, solo) {
		require.Equal(t, int64(4+2+4), p.delivered.Load(), "player %d", p.idx)
		require.Equal(t, int64(10), p.hist.Count(), "player %d", p.idx)
		require.InDelta(t, 999_000, p.hist.QuantileUs(50), 10_000, "player %d: received about 1 s after sending", p.idx)
	}
	members[0].onTick(a[:len(a)-1])
	members[1].onTick(a[:len(a)-1])
	require.Equal(t, int64(1), members[0].badTicks.Load())
	require.Equal(t, int64(1), members[1].badTicks.Load())
	members[1].onTick(a)
	require.Equal(t, int64(14), members[1].delivered.Load(), "a good tick after a bad one is decoded again")
}

// The work of 8 members receiving one tick of 8 inputs: one decode, then
// a lock, a comparison and 8 histogram records per member.
func BenchmarkRoomTickShared_8Members(b *testing.B) {
	clock := &roomClock{base: time.Now()}
	rt := newRoomTicks()
	members := make([]*player, 8)
	for i := range members {
		members[i] = newPlayer(uint32(i), 0, 0, clock)
		members[i].room = rt
	}
	ticks := [][]byte{tickBytes(b, 8), tickBytes(b, 8)}
	ticks[1][len(ticks[1])-1] ^= 1 // another tick: the next round decodes again
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, p := range members {
			p.onTick(ticks[n%2])
		}
		n++
	}
}

// A sender held up for more than a period (a stalled send) restarts its
// schedule instead of sending a burst, skips inputs, and says so.
func TestRunSendersLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := &roomClock{base: time.Now()}
		ps, cs, _ := newQueuePlayers(clock, 1, 1)
		slow := &slowConn{queueConn: cs[0], at: 500 * time.Millisecond, stall: 250 * time.Millisecond, clock: clock}
		ps[0].attach(slow)
		st, err := runSenders(context.Background(), clock, ps, senderConfig{
			ch: netcode.Reliable, size: 64, inputHz: 10, measureTo: time.Second,
		})
		require.NoError(t, err)
		require.Equal(t, int64(1), st.restarts)
		require.InDelta(t, 250_000, st.late.MaxUs(), 1_000)
		require.Less(t, cs[0].inputs, 10, "the stalled period's inputs are skipped, not sent in a burst")
	})
}

// slowConn stalls once, in the first QueueMessages at or after at.
type slowConn struct {
	*queueConn
	at, stall time.Duration
	clock     *roomClock
	done      bool
}

func (c *slowConn) QueueMessages(ch netcode.Channel, msgs [][]byte) error {
	if !c.done && c.clock.now() >= c.at {
		c.done = true
		time.Sleep(c.stall)
	}
	return c.queueConn.QueueMessages(ch, msgs)
}
