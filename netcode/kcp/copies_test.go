package kcp

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/memlink"
)

// kcpSegment encodes one kcp-go segment (little-endian: conv, cmd, frg,
// wnd, ts, sn, una, len, data).
func kcpSegment(cmd byte, sn uint32, data []byte) []byte {
	b := make([]byte, kcpOverhead, kcpOverhead+len(data))
	binary.LittleEndian.PutUint32(b, 7)
	b[4] = cmd
	binary.LittleEndian.PutUint16(b[6:], 256)
	binary.LittleEndian.PutUint32(b[12:], sn)
	binary.LittleEndian.PutUint32(b[20:], uint32(len(data)))
	return append(b, data...)
}

const kcpCmdAck = 82

// sentCopy is what a fakeSink saw.
type sentCopy struct {
	at  time.Time
	top uint32
	b   []byte
}

// fakeSink is a session that sends every copy it is handed unless told
// the copy was acknowledged.
type fakeSink struct {
	acked bool
	sent  []sentCopy
}

func (f *fakeSink) sendCopyLocked(now time.Time, top uint32, b []byte) copyOutcome {
	if f.acked {
		return copyAcked
	}
	f.sent = append(f.sent, sentCopy{at: now, top: top, b: append([]byte(nil), b...)})
	return copySent
}

// pendingCopies is the number of copies waiting on c's endpoint.
func pendingCopies(c *Conn) int {
	c.ep.lmu.Lock()
	defer c.ep.lmu.Unlock()
	return c.ep.copies.n
}

func copyStatsOf(c *Conn) copyStats {
	c.ep.lmu.Lock()
	defer c.ep.lmu.Unlock()
	return c.ep.copies.stats
}

// TestCopyQueueSpacing drives the deferred-copy queue on a fake clock:
// copies leave at their planned delays (0.5 ms, 1.5 ms after the
// original), not back to back, and nextDue tells the timer loop when to
// wake.
func TestCopyQueueSpacing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var q copyQueue
	s := &fakeSink{}
	pkt := append(kcpSegment(kcpCmdAck, 4, nil), kcpSegment(kcpCmdPush, 9, []byte("hello"))...)
	q.scheduleLocked(s, t0, 2, pkt, false)
	require.Equal(t, 2, q.n)
	first, second := copyDelay(0), copyDelay(1)
	require.Equal(t, 500*time.Microsecond, first)
	require.Equal(t, 1500*time.Microsecond, second)
	assert.Equal(t, first, q.firstDelay())

	q.sendDueLocked(t0)
	assert.Empty(t, s.sent, "nothing leaves with the original")
	due, ok := q.nextDue()
	require.True(t, ok)
	assert.Equal(t, t0.Add(first), due, "the timer loop wakes for the first copy")

	q.sendDueLocked(t0.Add(first - time.Microsecond))
	assert.Empty(t, s.sent)
	q.sendDueLocked(t0.Add(first))
	require.Len(t, s.sent, 1, "the first copy leaves 0.5 ms after its original")
	due, ok = q.nextDue()
	require.True(t, ok)
	assert.Equal(t, t0.Add(second), due)

	q.sendDueLocked(t0.Add(second - time.Microsecond))
	assert.Len(t, s.sent, 1)
	q.sendDueLocked(t0.Add(4 * time.Millisecond)) // a late pass sends what is due
	require.Len(t, s.sent, 2, "the second copy leaves 1.5 ms after its original")
	_, ok = q.nextDue()
	assert.False(t, ok, "nothing left")
	assert.Equal(t, copyStats{Scheduled: 2, Sent: 2}, q.stats)

	// A copy carries the PUSH segments only, behind the header room.
	want := kcpSegment(kcpCmdPush, 9, []byte("hello"))
	for _, c := range s.sent {
		assert.Equal(t, uint32(9), c.top)
		assert.Len(t, c.b, sessionHeaderSize+len(want))
		assert.Equal(t, want, c.b[sessionHeaderSize:], "the ACK segment is left out")
	}

	// Copies of datagrams sent later are due later, in order, per delay.
	s.sent = nil
	for i := range 4 {
		q.scheduleLocked(s, t0.Add(time.Duration(i)*500*time.Microsecond), 2, kcpSegment(kcpCmdPush, uint32(20+i), []byte{byte(i)}), false)
	}
	for ms := time.Duration(0); ms <= 10*time.Millisecond; ms += 100 * time.Microsecond {
		q.sendDueLocked(t0.Add(ms))
	}
	require.Len(t, s.sent, 8)
	for _, c := range s.sent {
		i := time.Duration(c.top - 20)
		orig := t0.Add(i * 500 * time.Microsecond)
		late := c.at.Sub(orig)
		assert.True(t, late == copyDelay(0) || late == copyDelay(1),
			"copy of datagram %d left %v after it, not at a planned delay", i, late)
	}
}

// TestCopyQueueOutcomes: a copy whose data was acknowledged is not sent;
// ACK-only datagrams get no copy; the queue is bounded.
func TestCopyQueueOutcomes(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var q copyQueue
	acked := &fakeSink{acked: true}
	q.scheduleLocked(acked, t0, 1, kcpSegment(kcpCmdPush, 1, []byte("x")), false)
	q.sendDueLocked(t0.Add(time.Second))
	assert.Empty(t, acked.sent)
	assert.Equal(t, uint64(1), q.stats.Acked)

	s := &fakeSink{}
	q.scheduleLocked(s, t0, 2, append(kcpSegment(kcpCmdAck, 1, nil), kcpSegment(kcpCmdAck, 2, nil)...), false)
	assert.Zero(t, q.n, "an ACK-only datagram is not copied")
	assert.Equal(t, uint64(1), q.stats.NoData)

	for range maxPendingCopies + 10 {
		q.scheduleLocked(s, t0, 1, kcpSegment(kcpCmdPush, 3, []byte("y")), false)
	}
	assert.Equal(t, maxPendingCopies, q.n)
	assert.Equal(t, uint64(10), q.stats.Overflow, "a full queue refuses new copies and counts them")
	q.sendDueLocked(t0.Add(time.Second))
	assert.Zero(t, q.n)
	assert.Len(t, s.sent, maxPendingCopies)
	assert.LessOrEqual(t, len(q.free), keepCopyBuffers, "spare buffers are bounded")
}

func TestPushSegments(t *testing.T) {
	p1 := kcpSegment(kcpCmdPush, 0xfffffffe, []byte("ab"))
	p2 := kcpSegment(kcpCmdPush, 1, []byte("cde")) // newer, across the wrap
	pkt := append(append(append(kcpSegment(kcpCmdAck, 5, nil), p1...), kcpSegment(kcpCmdAck, 6, nil)...), p2...)
	size, top, ok := pushSegments(pkt)
	require.True(t, ok)
	assert.Equal(t, len(p1)+len(p2), size)
	assert.Equal(t, uint32(1), top)
	assert.Equal(t, append(append([]byte(nil), p1...), p2...), appendPushSegments(nil, pkt))

	_, _, ok = pushSegments(kcpSegment(kcpCmdAck, 1, nil))
	assert.False(t, ok)
	trunc := kcpSegment(kcpCmdPush, 1, []byte("abc"))
	_, _, ok = pushSegments(trunc[:len(trunc)-1])
	assert.False(t, ok, "a truncated segment is not copied")
}

// TestCopiesSkipAcknowledged: over a clean link to an echo peer, a
// message whose reply (which acknowledges it) came back before its copy
// was due costs no copy; the copies that were sent are counted in
// RedundantBytes, byte for byte.
func TestCopiesSkipAcknowledged(t *testing.T) {
	rc := RedundancyConfig{MinSamples: 1 << 20} // the start guess (level 1) stays
	client, server, _, _ := memPair(t, memlink.Config{Seed: 5}, Config{Redundancy: rc})
	echo(t, server)
	const n = 50
	sendEach(t, client, conntest.Pump(t, client), n) // the echoes
	require.Eventually(t, func() bool { return pendingCopies(client) == 0 }, 10*time.Second, time.Millisecond)
	st := copyStatsOf(client)
	t.Logf("client copies: %+v", st)
	assert.Equal(t, 1, client.Stats().Redundancy)
	assert.Equal(t, uint64(n), st.Scheduled, "one copy per message at level 1")
	assert.Equal(t, st.Scheduled, st.Sent+st.Acked+st.NoBudget+st.Ended)
	assert.Positive(t, st.Acked, "copies of acknowledged messages are not sent")
	// A copy is our header plus one PUSH segment of a 1-byte message
	// with its 1-byte length prefix.
	assert.Equal(t, st.Sent*uint64(sessionHeaderSize+kcpOverhead+2), client.Stats().RedundantBytes)
}

// echo answers every message on c with itself until c ends.
func echo(t *testing.T, c *Conn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			ch, m, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(ch, m); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.Close(netcode.CodeOK, "")
		wg.Wait()
	})
}

// burstConn drops what is written to it in bursts of time: each
// datagram written outside a burst starts one with probability p, and a
// burst drops everything written for d. Real burst loss (a fading radio,
// a full queue) lasts a time, which takes a back-to-back copy with its
// original but not a copy a millisecond later.
//
// It also follows each KCP PUSH segment of a plaintext session through
// its first round: the original transmission and its redundant copies,
// which carry the segment byte for byte (same sn and same ts). A KCP
// retransmission restamps ts (kcp-go's flush), so it and its own copies
// are another round and do not count: what is measured is whether the
// copies did their job, not how often the retransmission timers fired,
// which a loaded machine's scheduling stalls decide.
type burstConn struct {
	net.PacketConn
	mu      sync.Mutex
	rng     *rand.Rand
	p       float64
	d       time.Duration
	badTill time.Time
	dropped int
	first   map[uint32]uint32 // sn -> ts of its first transmission
	arrived map[uint32]bool   // sn -> a datagram of its first round got through
}

func (b *burstConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	b.mu.Lock()
	now := time.Now()
	drop := now.Before(b.badTill)
	if !drop && b.rng.Float64() < b.p {
		b.badTill, drop = now.Add(b.d), true
	}
	if drop {
		b.dropped++
	}
	b.followLocked(p, !drop)
	b.mu.Unlock()
	if drop {
		return len(p), nil
	}
	return b.PacketConn.WriteTo(p, addr)
}

// followLocked notes the PUSH segments of the datagram p (plaintext:
// header, then the clear KCP packet) that belong to their segment's
// first round, and whether p got through.
func (b *burstConn) followLocked(p []byte, through bool) {
	if len(p) < sessionHeaderSize || p[0] != typeKCP {
		return
	}
	if b.first == nil {
		b.first, b.arrived = make(map[uint32]uint32), make(map[uint32]bool)
	}
	for p = p[sessionHeaderSize:]; len(p) >= kcpOverhead; {
		n := int(binary.LittleEndian.Uint32(p[20:]))
		if n > len(p)-kcpOverhead {
			return
		}
		if p[4] == kcpCmdPush {
			sn, ts := binary.LittleEndian.Uint32(p[12:]), binary.LittleEndian.Uint32(p[8:])
			first, seen := b.first[sn]
			if !seen {
				b.first[sn], first = ts, ts
			}
			if ts == first && through {
				b.arrived[sn] = true
			}
		}
		p = p[kcpOverhead+n:]
	}
}

// lostRounds is how many segments were sent and how many of them lost
// their first round whole: the original and every copy.
func (b *burstConn) lostRounds() (segments, lost int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for sn := range b.first {
		if !b.arrived[sn] {
			lost++
		}
	}
	return len(b.first), lost
}

// TestSpacedCopiesSurviveBursts: with loss in bursts of half a
// millisecond, a back-to-back copy is lost with its original, so the
// segment waits for a KCP retransmission (≥ 30 ms on a sparse flow);
// copies spaced 1 ms and 3 ms after the original fall outside the burst
// that took it, so far fewer segments lose their original and all its
// copies. The measure is counted on the wire (burstConn.followLocked),
// not in retransmissions: those also fire spuriously when a loaded
// machine stalls the loop past the RTO, which has nothing to do with
// spacing. The sessions are plaintext so that the test can read the
// segments.
func TestSpacedCopiesSurviveBursts(t *testing.T) {
	run := func(t *testing.T, spacing func(int) time.Duration) (segments, lost, dropped int, retx uint64) {
		link := memlink.New(memlink.Config{Seed: 9})
		bc := &burstConn{PacketConn: link.B(), rng: rand.New(rand.NewPCG(1, 2)), p: 0.03, d: 500 * time.Microsecond}
		cfg := Config{
			Redundancy:  RedundancyConfig{MinSamples: 1 << 20}, // level 1 throughout
			IdleTimeout: 30 * time.Second,
			Plaintext:   true, AllowPlaintext: true, // burstConn reads the segments
		}
		l, err := ListenPacket(link.A(), cfg)
		require.NoError(t, err)
		client, err := DialPacket(t.Context(), bc, link.A().LocalAddr(), cfg)
		require.NoError(t, err)
		require.False(t, client.Sealed())
		server, err := l.AcceptKCP()
		require.NoError(t, err)
		var wg sync.WaitGroup
		defer func() {
			_ = client.Close(netcode.CodeOK, "")
			_ = server.Close(netcode.CodeOK, "")
			wg.Wait()
			require.NoError(t, l.Shutdown(t.Context()))
			require.NoError(t, link.Close())
		}()
		client.ep.lmu.Lock()
		client.ep.copies.delay = spacing
		client.ep.lmu.Unlock()
		in := conntest.Pump(t, server)
		const n = 600
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := time.NewTicker(time.Millisecond)
			defer tk.Stop()
			for i := range n {
				<-tk.C
				if err := client.WriteMessage(netcode.Reliable, []byte{byte(i)}); err != nil {
					return
				}
			}
		}()
		for i := range n {
			select {
			case m := <-in:
				require.Equal(t, []byte{byte(i)}, m.Data)
			case <-time.After(10 * time.Second):
				require.FailNow(t, "message not delivered", "%d", i)
			}
		}
		retx = client.Stats().Retransmits // before bc.mu: a flush holds the loop's lock while it writes to bc
		segments, lost = bc.lostRounds()
		bc.mu.Lock()
		defer bc.mu.Unlock()
		return segments, lost, bc.dropped, retx
	}
	b2bSegs, b2bLost, b2bDrops, b2bRetx := run(t, func(int) time.Duration { return 0 })
	spacedSegs, spacedLost, spacedDrops, spacedRetx := run(t, nil)
	t.Logf("back to back: %d of %d segments lost with every copy (%d datagrams dropped, %d retransmissions); spaced: %d of %d (%d, %d)",
		b2bLost, b2bSegs, b2bDrops, b2bRetx, spacedLost, spacedSegs, spacedDrops, spacedRetx)
	require.GreaterOrEqual(t, b2bSegs, 600, "every message's segment was seen on the wire")
	require.GreaterOrEqual(t, spacedSegs, 600, "every message's segment was seen on the wire")
	require.GreaterOrEqual(t, b2bLost, 5, "the bursts must take back-to-back copies with their originals for the comparison to mean anything")
	assert.Less(t, 3*spacedLost, b2bLost, "spaced copies survive the bursts that take their originals")
}

// TestCopiesByteAccounting: to a peer that only reads and sends no
// copies itself (so its ACKs wait for the ACK delay, longer than the
// copy's), every copy is sent, and RedundantBytes counts exactly their
// bytes: header and PUSH segment, no ACK segment.
func TestCopiesByteAccounting(t *testing.T) {
	rc := RedundancyConfig{MinSamples: 1 << 20} // the start guess (level 1) stays
	client, server, _, _ := memPairOf(t, memlink.Config{Seed: 6}, Config{Redundancy: rc},
		Config{Redundancy: RedundancyConfig{Disabled: true}})
	in := conntest.Pump(t, server)
	// The first flight's copies wait for the ACK (TestFirstFlightCopyWaitsForTheAck):
	// one message acknowledged ends it.
	sendEach(t, client, in, 1)
	require.Eventually(t, func() bool {
		client.ep.lmu.Lock()
		defer client.ep.lmu.Unlock()
		return client.dataAcked && client.ep.copies.n == 0
	}, 10*time.Second, time.Millisecond)
	st0, bytes0 := copyStatsOf(client), client.Stats().RedundantBytes
	const n = 20
	sendEach(t, client, in, n)
	require.Eventually(t, func() bool { return pendingCopies(client) == 0 }, 10*time.Second, time.Millisecond)
	st := copyStatsOf(client)
	st.Scheduled, st.Sent, st.Acked, st.NoBudget, st.Ended = st.Scheduled-st0.Scheduled, st.Sent-st0.Sent, st.Acked-st0.Acked, st.NoBudget-st0.NoBudget, st.Ended-st0.Ended
	t.Logf("client copies: %+v", st)
	assert.Equal(t, uint64(n), st.Scheduled)
	assert.Equal(t, st.Scheduled, st.Sent+st.Acked+st.NoBudget+st.Ended)
	assert.Positive(t, st.Sent)
	assert.Equal(t, st.Sent*uint64(sessionHeaderSize+kcpOverhead+2), client.Stats().RedundantBytes-bytes0)
}

// sendEach writes messages 0..n-1 (one byte each) on c, each after the
// previous one came back on in.
func sendEach(t *testing.T, c *Conn, in <-chan conntest.Msg, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, c.WriteMessage(netcode.Reliable, []byte{byte(i)}))
		select {
		case m := <-in:
			require.Equal(t, []byte{byte(i)}, m.Data)
		case <-time.After(10 * time.Second):
			require.FailNow(t, "message not delivered", "%d", i)
		}
	}
}

// dropFirstKCP drops the first KCP datagram written through it (the
// first flight's data) and passes everything else.
type dropFirstKCP struct {
	net.PacketConn
	mu      sync.Mutex
	dropped bool
}

func (d *dropFirstKCP) WriteTo(p []byte, addr net.Addr) (int, error) {
	d.mu.Lock()
	drop := !d.dropped && len(p) > 0 && p[0] == typeKCP
	if drop {
		d.dropped = true
	}
	d.mu.Unlock()
	if drop {
		return len(p), nil
	}
	return d.PacketConn.WriteTo(p, addr)
}

// TestFirstFlightCopyWaitsForTheAck: until a session's data has been
// acknowledged once, a datagram's copy waits for the peer's ACK delay
// (a peer that only reads holds its ACK that long): on a clean link the
// ACK comes first and no copy goes, where a copy 1 ms after would always
// have gone. Once data was acknowledged, copies are spaced as before.
// When the first flight's datagram is lost, its copy repairs it long
// before the core's first retransmission (200 ms, no RTT measured).
func TestFirstFlightCopyWaitsForTheAck(t *testing.T) {
	rc := RedundancyConfig{MinSamples: 1 << 20} // the start guess (level 1) stays
	t.Run("clean", func(t *testing.T) {
		// The reader sends no copies, so it holds its ACKs (an end that
		// copies answers within AckWithin: TestAcksBeatThePeersCopies).
		client, server, _, _ := memPairOf(t, memlink.Config{Seed: 7}, Config{Redundancy: rc},
			Config{Redundancy: RedundancyConfig{Disabled: true}})
		in := conntest.Pump(t, server)
		client.ep.lmu.Lock()
		assert.Equal(t, client.ep.flushDelay()+firstFlightSlack, client.ep.copies.first, "the peer's ACK delay, and a little")
		client.ep.copies.first = 150 * time.Millisecond // a loaded machine may hold the ACK past 12 ms; the test is about the order
		client.ep.lmu.Unlock()
		sendEach(t, client, in, 1)
		require.Eventually(t, func() bool { return pendingCopies(client) == 0 }, 10*time.Second, time.Millisecond)
		st := copyStatsOf(client)
		assert.Equal(t, copyStats{Scheduled: 1, Acked: 1}, st, "the ACK beat the first flight's copy")
		const n = 5
		for i := range n {
			require.NoError(t, client.WriteMessage(netcode.Reliable, []byte{byte(i)}))
			require.Equal(t, []byte{byte(i)}, conntest.Recv(t, in, 5*time.Second).Data)
			require.Eventually(t, func() bool { return pendingCopies(client) == 0 }, 10*time.Second, time.Millisecond)
		}
		st = copyStatsOf(client)
		assert.Equal(t, uint64(1+n), st.Scheduled)
		assert.Equal(t, uint64(n), st.Sent+st.Acked-1)
		assert.Positive(t, st.Sent, "afterwards copies go 0.5 ms after, before the held ACK")
	})
	t.Run("lost", func(t *testing.T) {
		link := memlink.New(memlink.Config{Seed: 8})
		cfg := Config{Redundancy: rc, IdleTimeout: 30 * time.Second}
		l, err := ListenPacket(link.A(), cfg)
		require.NoError(t, err)
		client, err := DialPacket(t.Context(), &dropFirstKCP{PacketConn: link.B()}, link.A().LocalAddr(), cfg)
		require.NoError(t, err)
		server, err := l.AcceptKCP()
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = client.Close(netcode.CodeOK, "")
			require.NoError(t, l.Shutdown(context.Background()))
			require.NoError(t, link.Close())
		})
		in := conntest.Pump(t, server)
		start := time.Now()
		require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("hello")))
		m := conntest.Recv(t, in, 5*time.Second)
		took := time.Since(start)
		require.NoError(t, m.Err)
		assert.Equal(t, "hello", string(m.Data))
		assert.Less(t, took, 150*time.Millisecond, "repaired by the copy, not the 200 ms retransmission")
		assert.Equal(t, uint64(1), copyStatsOf(client).Sent)
	})
}

// TestAcksBeatThePeersCopies: while this end defers copies of what it
// sends (its own level, here the start guess kept) it expects
// the peer to copy too, and bounds its ACK hold to half the first copy's
// delay (not for the peer's first flight, whose copy waits longer);
// with copies off it holds as before. Over a link, a reader whose
// ACKs leave that soon saves the sender's copies: they are dropped as
// acknowledged when due (TestCopiesByteAccounting is the same exchange
// with a peer that holds its ACKs: every copy goes).
func TestAcksBeatThePeersCopies(t *testing.T) {
	rc := RedundancyConfig{MinSamples: 1 << 20} // the start guess (level 1) stays
	client, server, _, _ := memPair(t, memlink.Config{Seed: 6}, Config{Redundancy: rc})
	within := func(c *Conn) time.Duration {
		c.ep.lmu.Lock()
		defer c.ep.lmu.Unlock()
		return c.ackWithinLocked()
	}
	assert.Zero(t, within(server), "the peer's first KCP datagram is its first flight: its copy waits for the held ACK")

	const n = 20
	sendEach(t, client, conntest.Pump(t, server), n)
	assert.Equal(t, copyDelay(0)/2, within(server))
	assert.Equal(t, copyDelay(0)/2, within(client))
	require.Eventually(t, func() bool { return pendingCopies(client) == 0 }, 10*time.Second, time.Millisecond)
	st := copyStatsOf(client)
	t.Logf("client copies: %+v", st)
	assert.Equal(t, uint64(n), st.Scheduled)
	assert.Positive(t, st.Acked, "the reader's prompt ACKs came before copies were due")

	quiet, _, _, _ := memPair(t, memlink.Config{Seed: 7}, Config{Redundancy: RedundancyConfig{Disabled: true}})
	assert.Zero(t, within(quiet), "no copies on this end: ACKs keep riding on data")
}
