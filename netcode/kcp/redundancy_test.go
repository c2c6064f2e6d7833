package kcp

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/memlink"
)

func testRedundancyConfig() RedundancyConfig {
	return RedundancyConfig{ReportInterval: 20 * time.Millisecond, HoldDown: 200 * time.Millisecond, MinSamples: 16}
}

// stream sends a small reliable message every interval until stop.
func stream(t *testing.T, c *Conn, every time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(every)
		defer tk.Stop()
		msg := make([]byte, 64)
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				if err := c.WriteMessage(netcode.Reliable, msg); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(done); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// drainAll reads and discards until the conn ends.
func drainAll(t *testing.T, c *Conn) {
	in := conntest.Pump(t, c)
	go func() { // ends when pump's channel closes
		for range in {
		}
	}()
}

func TestRedundancyFollowsLoss(t *testing.T) {
	lossy := memlink.Direction{Loss: 0.12}
	cfg := Config{Redundancy: testRedundancyConfig(), IdleTimeout: 30 * time.Second}
	client, server, _, link := memPair(t, memlink.Config{Seed: 21, AToB: lossy, BToA: lossy}, cfg)
	drainAll(t, server)
	drainAll(t, client)
	stream(t, client, 2*time.Millisecond)
	stream(t, server, 5*time.Millisecond)

	// kcp-go runs its timers on process-wide goroutines outside any synctest bubble: wall clock
	require.Eventually(t, func() bool {
		st := client.Stats()
		return st.Redundancy == 3 && st.LossRate > 0.05
	}, 10*time.Second, 10*time.Millisecond, "client redundancy rises to 3 under 12%% loss: %+v", client.Stats())
	require.Eventually(t, func() bool { return server.Stats().Redundancy >= 1 }, 10*time.Second, 10*time.Millisecond,
		"the server measures its own loss too")
	require.Eventually(t, func() bool { return client.Stats().RedundantBytes > 0 }, 10*time.Second, 10*time.Millisecond,
		"copies are sent at the raised level")
	// A sample covers 32 datagrams: at 12 % loss one with 10 lost
	// (0.31) happens about once in a hundred samples. The estimate must
	// stay near the truth, not exact.
	assert.Less(t, client.Stats().LossRate, 0.4)

	link.SetAToB(memlink.Direction{})
	link.SetBToA(memlink.Direction{})
	require.Eventually(t, func() bool {
		st := client.Stats()
		return st.Redundancy == 0 && st.LossRate < 0.01
	}, 15*time.Second, 10*time.Millisecond, "redundancy falls once loss stops: %+v", client.Stats())
	// Copies scheduled at the old level may still be waiting (spaced up
	// to 7 ms); they go or are dropped, then nothing more is spent.
	require.Eventually(t, func() bool {
		client.ep.lmu.Lock()
		defer client.ep.lmu.Unlock()
		_, pending := client.ep.copies.nextDue()
		return !pending
	}, 5*time.Second, time.Millisecond)
	before := client.Stats().RedundantBytes
	// With redundancy off, no more redundant bytes are spent.
	for range 50 {
		require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("quiet")))
	}
	assert.Equal(t, before, client.Stats().RedundantBytes)
}

func TestRedundancyRespectsBudget(t *testing.T) {
	lossy := memlink.Direction{Loss: 0.2}
	rc := testRedundancyConfig()
	rc.BudgetBytesPerSec = 4000
	cfg := Config{Redundancy: rc, IdleTimeout: 30 * time.Second}
	client, server, _, _ := memPair(t, memlink.Config{Seed: 2, AToB: lossy, BToA: lossy}, cfg)
	drainAll(t, server)
	start := time.Now()
	stop := stream(t, client, time.Millisecond)
	// kcp-go runs its timers on process-wide goroutines outside any synctest bubble: wall clock
	require.Eventually(t, func() bool { return client.Stats().Redundancy > 0 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return client.Stats().RedundantBytes > 4000 }, 10*time.Second, 10*time.Millisecond)
	stop()
	elapsed := time.Since(start)
	st := client.Stats()
	burst := float64(rc.BudgetBytesPerSec) / 4
	assert.LessOrEqual(t, float64(st.RedundantBytes), float64(rc.BudgetBytesPerSec)*elapsed.Seconds()+burst,
		"redundant bytes %d over %v exceed the budget", st.RedundantBytes, elapsed)
	// Without the budget the same stream would spend far more: every
	// KCP datagram (>= 37 bytes) at 1 kHz, times the level.
	assert.Less(t, float64(st.RedundantBytes)/elapsed.Seconds(), 37.0*1000)
}

func TestRedundancyDisabled(t *testing.T) {
	lossy := memlink.Direction{Loss: 0.15}
	rc := testRedundancyConfig()
	rc.Disabled = true
	client, server, _, _ := memPair(t, memlink.Config{Seed: 4, AToB: lossy, BToA: lossy}, Config{Redundancy: rc})
	drainAll(t, server)
	stream(t, client, 2*time.Millisecond)
	// kcp-go runs its timers on process-wide goroutines outside any synctest bubble: wall clock
	require.Eventually(t, func() bool { return client.Stats().LossRate > 0.05 }, 10*time.Second, 10*time.Millisecond,
		"loss is still measured")
	require.Eventually(t, func() bool { return client.Stats().Retransmits > 0 }, 10*time.Second, 10*time.Millisecond,
		"KCP repairs the loss by retransmission")
	st := client.Stats()
	assert.Zero(t, st.Redundancy)
	assert.Zero(t, st.RedundantBytes)
}

// TestRedundancyController drives the sans-IO controller with fixed times.
func TestRedundancyController(t *testing.T) {
	cfg, err := Config{Redundancy: RedundancyConfig{HoldDown: time.Second, MinSamples: 100, MaxLevel: 2}}.populate()
	require.NoError(t, err)
	t0 := time.Unix(1000, 0)
	r := newRedundancy(cfg.Redundancy)
	var hi, count uint32 = ^uint32(0), 0
	report := func(at time.Duration, sent, recv uint32) {
		hi += sent
		count += recv
		r.onReport(t0.Add(at), hi, count)
	}
	assert.Equal(t, 1, r.level, "a session starts pessimistic")
	report(0, 100, 100)
	assert.Equal(t, 0, r.level, "the first clean sample lowers the guess at once")
	assert.Zero(t, r.loss)
	report(100*time.Millisecond, 100, 90) // 10 %: EWMA 0.03
	assert.Equal(t, 1, r.level)
	report(200*time.Millisecond, 100, 60) // loss jumps: EWMA 0.141
	assert.Equal(t, 2, r.level)
	for i := range 20 { // clean link: EWMA decays, but hold-down paces the steps
		report(300*time.Millisecond+time.Duration(i)*10*time.Millisecond, 100, 100)
	}
	assert.Equal(t, 2, r.level, "hold-down keeps the level for a second")
	report(1300*time.Millisecond, 100, 100)
	assert.Equal(t, 1, r.level)
	report(1400*time.Millisecond, 100, 100)
	assert.Equal(t, 1, r.level)
	report(2400*time.Millisecond, 100, 100)
	assert.Equal(t, 0, r.level)

	// A reordered (older) report and a report with no news change nothing.
	l := r.loss
	r.onReport(t0.Add(3*time.Second), hi-50, count-10)
	r.onReport(t0.Add(3*time.Second), hi, count)
	assert.Equal(t, l, r.loss)

	z := newRedundancy(RedundancyConfig{StartAtZero: true, MaxLevel: 2})
	assert.Equal(t, 0, z.level)
	off := newRedundancy(RedundancyConfig{Disabled: true, MaxLevel: 2})
	assert.Equal(t, 0, off.level)

	// Budget: 1000 B/s with a 250 B burst.
	b := newRedundancy(RedundancyConfig{BudgetBytesPerSec: 1000})
	assert.True(t, b.allow(t0, 250))
	assert.False(t, b.allow(t0, 1))
	assert.False(t, b.allow(t0.Add(100*time.Millisecond), 101))
	assert.True(t, b.allow(t0.Add(100*time.Millisecond), 100))
	assert.True(t, b.allow(t0.Add(time.Hour), 250), "refill is capped at the burst")
	assert.False(t, b.allow(t0.Add(time.Hour), 1))
}

// TestRedundancyStartGuessDropsEarly: a clean quarter sample lowers the
// starting level before a full sample; a lossy one does not.
func TestRedundancyStartGuessDropsEarly(t *testing.T) {
	cfg, err := Config{Redundancy: RedundancyConfig{MinSamples: 32}}.populate()
	require.NoError(t, err)
	t0 := time.Unix(1000, 0)

	clean := newRedundancy(cfg.Redundancy)
	require.Equal(t, 1, clean.level)
	clean.onReport(t0, 6, 7) // 7 of 7 datagrams (pn 0..6): under a quarter sample
	assert.Equal(t, 1, clean.level, "7 datagrams are too few to judge")
	clean.onReport(t0, 7, 8) // 8 of 8
	assert.Equal(t, 0, clean.level, "a clean quarter sample drops the guess")
	assert.False(t, clean.haveLoss, "no loss estimate yet: the full sample still forms")

	lossy := newRedundancy(cfg.Redundancy)
	lossy.onReport(t0, 9, 9) // 9 of 10
	assert.Equal(t, 1, lossy.level, "a loss keeps the guess until a full sample")
	lossy.onReport(t0, 31, 31) // 31 of 32: 3.1 % >= 2 %
	assert.Equal(t, 1, lossy.level)
	assert.True(t, lossy.haveLoss)
}

// TestRedundancyHoldsUnderCongestion: loss that comes with queueing delay
// (smoothed RTT far above its minimum) does not raise the level; the same
// loss on an unqueued path does.
func TestRedundancyHoldsUnderCongestion(t *testing.T) {
	cfg, err := Config{Redundancy: RedundancyConfig{MinSamples: 10, StartAtZero: true}}.populate()
	require.NoError(t, err)
	t0 := time.Unix(1000, 0)
	r := newRedundancy(cfg.Redundancy)
	r.setCongested(150*time.Millisecond, 2*time.Millisecond)
	r.onReport(t0, 9, 8) // 20 % loss
	assert.Equal(t, 0, r.level, "congestion loss adds no copies")
	assert.InDelta(t, 0.2, r.loss, 1e-9, "the loss is still measured")

	r.setCongested(3*time.Millisecond, 2*time.Millisecond)
	r.onReport(t0.Add(time.Second), 19, 16) // 20 % again, no queueing
	assert.Equal(t, 3, r.level)

	r.setCongested(150*time.Millisecond, 2*time.Millisecond)
	for i := range 30 { // clean now, still queueing: the level may fall
		r.onReport(t0.Add(time.Duration(3+i)*time.Second), uint32(29+10*i), uint32(26+10*i))
	}
	assert.Equal(t, 0, r.level)
}

// TestRedundancySparseFloor drives the sparse floor with a fake clock: a
// session sending fewer than SparseRate KCP datagrams a second gives each
// one extra copy whatever its loss estimate; a dense one gets its
// loss-driven level; the floor returns when traffic thins out again.
func TestRedundancySparseFloor(t *testing.T) {
	cfg, err := Config{Redundancy: RedundancyConfig{StartAtZero: true}}.populate()
	require.NoError(t, err)
	require.Equal(t, 20, cfg.Redundancy.SparseRate, "the default")
	t0 := time.Unix(1000, 0)
	r := newRedundancy(cfg.Redundancy)
	require.Equal(t, 0, r.level)

	// A chat message every 2 s, each a data datagram and an ACK.
	now := t0
	for i := range 10 {
		assert.Equal(t, 1, r.onSend(now), "sparse message %d gets a copy", i)
		assert.Equal(t, 1, r.onSend(now.Add(5*time.Millisecond)), "and so does its ACK")
		now = now.Add(2 * time.Second)
	}
	assert.Equal(t, 0, r.level, "the floor is not the measured level")

	// A 100 Hz stream: the first 20 datagrams of the second still look
	// sparse, the rest get the measured level (0).
	var copies int
	for i := range 200 {
		copies += r.onSend(now.Add(time.Duration(i) * 10 * time.Millisecond))
	}
	assert.Equal(t, 20, copies, "only the first SparseRate datagrams of the stream get a copy")
	now = now.Add(2 * time.Second)

	// Just after the stream: the last second still counts.
	assert.Equal(t, 0, r.copies(now.Add(-1500*time.Millisecond)))
	// The stream thins out to 5 datagrams a second: once the sliding
	// window forgets the stream, the floor is back.
	copies = 0
	for i := range 20 {
		copies += r.onSend(now.Add(time.Duration(i) * 200 * time.Millisecond))
	}
	assert.GreaterOrEqual(t, copies, 15, "a 5/s session is sparse")
	assert.Equal(t, 1, r.copies(now.Add(10*time.Second)), "an idle session's next datagram gets a copy")

	// A higher measured level wins over the floor, on sparse and dense
	// traffic alike.
	r.level = 2
	assert.Equal(t, 2, r.onSend(now.Add(20*time.Second)))

	// Off: Disabled, SparseRate < 0, MaxLevel 0.
	for name, rc := range map[string]RedundancyConfig{
		"disabled":  {Disabled: true, MaxLevel: 2, SparseRate: 20},
		"off":       {MaxLevel: 2, SparseRate: -1, StartAtZero: true},
		"max level": {MaxLevel: 0, SparseRate: 20},
	} {
		off := newRedundancy(rc)
		for i := range 5 {
			assert.Equal(t, 0, off.onSend(t0.Add(time.Duration(i)*time.Second)), name)
		}
	}
}

// TestRedundancySparseOverLink: a few reliable messages on a clean link
// are sent with copies (the session is sparse); with the floor off, or
// with no byte budget, none are.
func TestRedundancySparseOverLink(t *testing.T) {
	for name, tc := range map[string]struct {
		rc     RedundancyConfig
		copies bool
	}{
		"floor":     {RedundancyConfig{StartAtZero: true}, true},
		"off":       {RedundancyConfig{StartAtZero: true, SparseRate: -1}, false},
		"no budget": {RedundancyConfig{StartAtZero: true, BudgetBytesPerSec: 1}, false}, // burst 0: every copy refused
	} {
		t.Run(name, func(t *testing.T) {
			client, server, _, _ := memPair(t, memlink.Config{Seed: 3}, Config{Redundancy: tc.rc})
			in := conntest.Pump(t, server)
			// Five messages, well under SparseRate datagrams whatever the
			// timing: the test needs no clock.
			for i := range 5 {
				require.NoError(t, client.WriteMessage(netcode.Reliable, []byte{byte(i)}))
				select {
				case m := <-in:
					require.Equal(t, []byte{byte(i)}, m.Data)
				case <-time.After(10 * time.Second):
					require.FailNow(t, "message not delivered")
				}
			}
			// Copies are deferred (copies.go): wait until every one was
			// due and decided, sent or refused.
			require.Eventually(t, func() bool { return pendingCopies(client) == 0 }, 10*time.Second, time.Millisecond)
			st := client.Stats()
			if tc.copies {
				assert.Positive(t, st.RedundantBytes, "sparse messages go with a copy")
				assert.Equal(t, 1, st.Redundancy, "Stats shows the floor")
			} else {
				assert.Zero(t, st.RedundantBytes)
			}
			assert.Zero(t, st.LossRate)
		})
	}
}

// TestSparseCopyGoesAtOnce: on a sparse session (level 0, the sparse
// floor) a datagram's copy leaves in the same pass as the original, not
// deferred like the level's copies: a lone chat message has no burst to
// dodge, and by the time a deferred copy were due its ACK may be back.
func TestSparseCopyGoesAtOnce(t *testing.T) {
	rc := testRedundancyConfig()
	rc.StartAtZero = true
	client, server, _, _ := memPair(t, memlink.Config{Seed: 3}, Config{Redundancy: rc, IdleTimeout: 30 * time.Second})
	drainAll(t, server)
	before := client.Stats().RedundantBytes
	require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("a lone chat message")))
	assert.Greater(t, client.Stats().RedundantBytes, before, "the copy was staged and written by the same WriteMessage")
}

// TestSparseAcksAreNotCopied: a sparse session that only acknowledges
// (it receives, sends nothing) copies none of its ACK-only datagrams:
// the floor protects data, and a lost ACK delays nothing the next one
// does not repair.
func TestSparseAcksAreNotCopied(t *testing.T) {
	rc := testRedundancyConfig()
	rc.StartAtZero = true
	client, server, _, _ := memPair(t, memlink.Config{Seed: 4}, Config{Redundancy: rc, IdleTimeout: 30 * time.Second})
	in := conntest.Pump(t, client)
	for i := range 5 {
		require.NoError(t, server.WriteMessage(netcode.Reliable, []byte{byte(i)}))
		m := conntest.Recv(t, in, 5*time.Second)
		require.NoError(t, m.Err)
	}
	// The client acknowledged five messages (ACK-only datagrams, AckDelay
	// after each): let the last ACK leave.
	require.Eventually(t, func() bool {
		server.ep.lmu.Lock()
		defer server.ep.lmu.Unlock()
		return server.ls.Pending() == 0
	}, 5*time.Second, time.Millisecond)
	assert.Zero(t, client.Stats().RedundantBytes, "an ACK-only datagram was copied")
}

// TestReportsAnswerTraffic: a receive report is due for KCP and
// unreliable datagrams heard, not for the peer's own reports and
// heartbeats (otherwise two idle ends would trade reports every
// reportMaxGaps × ReportInterval for ever, each report being traffic the
// other must report), and a sparse session's report waits for a quarter
// sample (what the peer can act on; a handshake's few datagrams ride on
// the next heartbeat). Driven by hand under the loop's lock, with times
// an hour ahead of the timer loop's, so that only these calls decide.
func TestReportsAnswerTraffic(t *testing.T) {
	cfg := Config{IdleTimeout: 30 * time.Second}
	client, server, _, _ := memPair(t, memlink.Config{Seed: 5}, cfg)
	drainAll(t, server)
	drainAll(t, client)
	quarter := server.cfg.Redundancy.MinSamples / 4
	require.Greater(t, quarter, 1)
	e := server.ep
	e.lmu.Lock()
	defer e.lmu.Unlock()
	at := time.Now().Add(time.Hour)
	later := func(d time.Duration) time.Time { return at.Add(d) }
	server.lastSent, server.lastReport = e.nanos(at), e.nanos(at)
	server.rxSince = 0
	pn := server.pn
	next := uint32(1000)
	hear := func(d time.Duration, typ byte, payload []byte) {
		server.onDatagramLocked(later(d), sessionHeader{Type: typ, Token: server.token, PN: next}, payload, len(payload))
		next++
	}
	input := func(d time.Duration) {
		hear(d, typeUnreliable, append(binary.BigEndian.AppendUint32(nil, next), "input"...))
	}

	hear(0, typeControl, appendControl(nil, control{Type: ctlHeartbeat, RecvMax: 7, RecvCount: 7}))
	server.tickLocked(later(300 * time.Millisecond))
	assert.Equal(t, pn, server.pn, "a heartbeat heard is no traffic to report")

	input(400 * time.Millisecond)
	server.tickLocked(later(700 * time.Millisecond))
	assert.Equal(t, pn, server.pn, "fewer datagrams than a quarter sample wait")
	for range quarter - 1 {
		input(750 * time.Millisecond)
	}
	server.tickLocked(later(800 * time.Millisecond))
	assert.Equal(t, pn+1, server.pn, "a quarter sample heard is reported")
	server.tickLocked(later(1000 * time.Millisecond))
	assert.Equal(t, pn+1, server.pn, "reported once")
	input(1100 * time.Millisecond)
	server.tickLocked(later(1900 * time.Millisecond))
	assert.Equal(t, pn+2, server.pn, "then the heartbeat, HeartbeatInterval after the last send, reports the rest")
	assert.Zero(t, server.rxSince)
}

// TestIdleSessionsSkipTicks: the timer loop passes over an idle session
// (nothing to report, no loss estimate) until its heartbeat is due,
// and looks at it again as soon as it hears from its peer. Driven by
// hand under the loop's lock, an hour ahead of the timer loop's clock.
func TestIdleSessionsSkipTicks(t *testing.T) {
	cfg := Config{IdleTimeout: 30 * time.Second}
	client, server, _, _ := memPair(t, memlink.Config{Seed: 6}, cfg)
	drainAll(t, server)
	drainAll(t, client)
	e := server.ep
	e.lmu.Lock()
	defer e.lmu.Unlock()
	at := time.Now().Add(time.Hour)
	later := func(d time.Duration) time.Time { return at.Add(d) }
	server.lastSent, server.lastReport, server.lastRecv = e.nanos(at), e.nanos(at), e.nanos(at)
	server.rxSince = 0
	e.conns[server.slot].tickAt = 0
	pn := server.pn

	e.tickSessionsLocked(later(10 * time.Millisecond))
	require.Equal(t, e.nanos(at)+int64(server.cfg.HeartbeatInterval), e.conns[server.slot].tickAt, "nothing to do before the heartbeat")
	server.rxSince = 100 // as if heard without the loop knowing: only a tick would report it
	e.tickSessionsLocked(later(300 * time.Millisecond))
	assert.Equal(t, pn, server.pn, "skipped: the session was idle")

	server.rxSince = 0
	msg := append(binary.BigEndian.AppendUint32(nil, 1), "input"...)
	for i := range uint32(server.cfg.Redundancy.MinSamples / 2) {
		server.onDatagramLocked(later(400*time.Millisecond), sessionHeader{Type: typeUnreliable, Token: server.token, PN: 2000 + i}, msg, len(msg))
	}
	e.tickSessionsLocked(later(450 * time.Millisecond))
	assert.Equal(t, pn+1, server.pn, "a datagram heard makes the next tick look: the report goes")

	e.tickSessionsLocked(later(500 * time.Millisecond))
	require.Equal(t, e.nanos(later(450*time.Millisecond))+int64(server.cfg.HeartbeatInterval), e.conns[server.slot].tickAt)
	e.tickSessionsLocked(later(1450 * time.Millisecond))
	assert.Equal(t, pn+2, server.pn, "the heartbeat, when due")
}
