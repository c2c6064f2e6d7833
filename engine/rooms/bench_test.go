package rooms

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

// countPeer is a service.Peer that only counts what it is sent, like a
// session whose writer keeps up.
type countPeer struct {
	id    uint64
	sent  atomic.Uint64
	bytes atomic.Uint64
}

func (p *countPeer) SessionID() uint64          { return p.id }
func (p *countPeer) UserID() string             { return "u" }
func (p *countPeer) DisplayName() string        { return "n" }
func (p *countPeer) Guest() bool                { return true }
func (p *countPeer) Close(netcode.Code, string) {}
func (p *countPeer) Send(_ netcode.Channel, b []byte) bool {
	p.sent.Add(1)
	p.bytes.Add(uint64(len(b)))
	return true
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTickDriver runs 1,000 relay rooms × 8 members at 60 Hz on the
// real clock with the default workers (one per CPU). One op is one tick
// period of wall time; run it with -benchtime=300x (5 s). It reports tick
// lateness p50/p99 (µs), skipped ticks, and the process CPU used (% of one
// core), with and without one input per room per tick.
func BenchmarkTickDriver(b *testing.B) {
	for _, inputs := range []bool{false, true} {
		name := fmt.Sprintf("rooms=1000/members=8/hz=60/inputs=%v", inputs)
		b.Run(name, func(b *testing.B) { benchTickDriver(b, 1000, 8, 60, inputs) })
	}
}

func benchTickDriver(b *testing.B, nrooms, members, hz int, inputs bool) {
	b.ReportAllocs()
	h, err := New(Config{MaxRoomsPerSession: 1, MaxInputsPerSecond: 1000})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	type seat struct {
		p    *countPeer
		room uint64
	}
	var senders []seat
	var sid uint64
	now := time.Now()
	for r := 0; r < nrooms; r++ {
		id, err := h.CreateRoom(room.Config{Type: room.RelayType, Capacity: members, TickRate: hz})
		require.NoError(b, err)
		for m := 0; m < members; m++ {
			sid++
			p := &countPeer{id: sid}
			h.PeerOpened(p)
			req, _ := frame.Marshal(&frame.RoomJoin{Ref: 1, RoomID: id})
			_, err := h.HandleFrame(now, p, netcode.Reliable, frame.KindRoomJoin, req)
			require.NoError(b, err)
			if m == 0 {
				senders = append(senders, seat{p, id})
			}
		}
	}
	require.Eventually(b, func() bool { return h.Stats().Types[room.RelayType].Sends >= uint64(nrooms*members) }, 10*time.Second, time.Millisecond)

	period := time.Second / time.Duration(hz)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var in frame.RoomInput
			in.Data = make([]byte, 16)
			enc := frame.NewEncoder()
			next := time.Now()
			for seq := uint32(1); ; seq++ {
				for _, s := range senders {
					in.RoomID, in.Seq = s.room, seq
					buf, _ := enc.Encode(&in)
					// Errors (a rare inbox overflow) are counted by the hub.
					_, _ = h.HandleFrame(time.Now(), s.p, netcode.Unreliable, frame.KindRoomInput, buf)
				}
				next = next.Add(period)
				select {
				case <-stop:
					return
				case <-time.After(time.Until(next)):
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // warm-up: every room has ticked
	h.ResetTimings()
	before := h.Stats().Types[room.RelayType]
	cpu0, wall0 := cpuTime(), time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(period)
	}
	b.StopTimer()
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	close(stop)
	wg.Wait()
	st := h.Stats().Types[room.RelayType]
	b.ReportMetric(float64(st.Lateness.P50.Microseconds()), "late-p50-µs")
	b.ReportMetric(float64(st.Lateness.P99.Microseconds()), "late-p99-µs")
	b.ReportMetric(float64(st.Lateness.P999.Microseconds()), "late-p999-µs")
	b.ReportMetric(float64(st.TickTime.P50.Nanoseconds()), "tick-p50-ns")
	b.ReportMetric(float64(st.Skipped-before.Skipped), "skipped")
	b.ReportMetric(float64(st.Ticks-before.Ticks)/wall.Seconds(), "ticks/s")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
	if inputs {
		b.ReportMetric(float64(st.Inputs-before.Inputs)/wall.Seconds(), "inputs/s")
	}
}

// BenchmarkBroadcastFanout measures one relay tick carrying one input,
// delivered to 8, 100 and 1,000 members: the frame is encoded once and
// the same bytes are queued to every member, so allocations per op must
// not grow with the member count.
func BenchmarkBroadcastFanout(b *testing.B) {
	for _, n := range []int{8, 100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			now := t0
			h, err := New(Config{Workers: 1, MaxCapacity: n, Clock: func() time.Time { return now }})
			require.NoError(b, err)
			id, err := h.CreateRoom(room.Config{Type: room.RelayType, Capacity: n, TickRate: 60})
			require.NoError(b, err)
			sh := h.shards[0]
			sh.step(now)
			peers := make([]*countPeer, n)
			for i := range peers {
				peers[i] = &countPeer{id: uint64(i + 1)}
				h.PeerOpened(peers[i])
				req, _ := frame.Marshal(&frame.RoomJoin{Ref: 1, RoomID: id})
				_, err := h.HandleFrame(now, peers[i], netcode.Reliable, frame.KindRoomJoin, req)
				require.NoError(b, err)
			}
			sh.step(now)
			in, _ := frame.Marshal(&frame.RoomInput{RoomID: id, Seq: 1, Data: []byte("0123456789abcdef")})
			period := time.Second / 60
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := h.HandleFrame(now, peers[0], netcode.Unreliable, frame.KindRoomInput, in); err != nil {
					b.Fatal(err)
				}
				now = now.Add(period)
				sh.step(now)
			}
			b.StopTimer()
			if got := peers[n-1].sent.Load(); got < uint64(b.N) {
				b.Fatalf("last member got %d frames, want at least %d", got, b.N)
			}
		})
	}
}

// BenchmarkRoomInput is a session's input path alone: decode, rate
// limit, membership check, copy into the room's inbox. The worker drains
// the inbox every 1,000 inputs.
func BenchmarkRoomInput(b *testing.B) {
	b.ReportAllocs()
	now := t0
	h, err := New(Config{Workers: 1, InboxSize: 2000, MaxInputsPerSecond: 1 << 30, Clock: func() time.Time { return now }})
	require.NoError(b, err)
	id, err := h.CreateRoom(room.Config{Type: room.RelayType, Capacity: 2, TickRate: 60})
	require.NoError(b, err)
	sh := h.shards[0]
	sh.step(now)
	p := &countPeer{id: 1}
	h.PeerOpened(p)
	req, _ := frame.Marshal(&frame.RoomJoin{Ref: 1, RoomID: id})
	_, err = h.HandleFrame(now, p, netcode.Reliable, frame.KindRoomJoin, req)
	require.NoError(b, err)
	sh.step(now)
	in, _ := frame.Marshal(&frame.RoomInput{RoomID: id, Seq: 1, Data: []byte("0123456789abcdef")})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		if _, err := h.HandleFrame(now, p, netcode.Unreliable, frame.KindRoomInput, in); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			b.StopTimer()
			sh.drain(h.shards[0].heap[0], now)
			b.StartTimer()
		}
	}
}
