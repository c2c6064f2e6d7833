package client_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// BenchmarkRoomInputToBroadcastKCP measures input-to-broadcast latency end
// to end over KCP on loopback: 125 relay rooms × 8 clients at 30 Hz (and a
// lighter 25 × 8), server and clients in one process. Every client sends one reliable input per
// tick period carrying its send time; the latency is the time until the
// same client receives the tick broadcast that carries that input. It
// includes the wait for the next tick (up to one period, 33 ms). One op is
// one round of inputs from every client; run with -benchtime=150x (5 s).
func BenchmarkRoomInputToBroadcastKCP(b *testing.B) {
	for _, c := range []struct{ rooms, every int }{{125, 1}, {125, 3}, {25, 1}} {
		b.Run(fmt.Sprintf("rooms=%d/members=8/hz=30/input-every=%d-ticks", c.rooms, c.every), func(b *testing.B) {
			benchInputToBroadcast(b, c.rooms, 8, 30, c.every)
		})
	}
}

func benchInputToBroadcast(b *testing.B, nrooms, members, hz, every int) {
	b.ReportAllocs()
	srv := servertest.Start(b, server.Config{
		Engine: engine.Config{MaxFramesPerSecond: 1000, MaxSessionsPerIP: -1}, // every member dials from 127.0.0.1
		Rooms:  rooms.Config{MaxRoomsPerSession: 1, MaxInputsPerSecond: 1000, MaxClientTickRate: room.MaxTickRate},
	})
	signer := srv.Engine().Signer()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	type player struct {
		c    *client.Client
		r    *client.Room
		mu   sync.Mutex
		lats []time.Duration
	}
	players := make([]*player, nrooms*members)
	dial := func(i int) *player {
		tok, _, err := signer.Issue(auth.Claims{UserID: fmt.Sprintf("bench-%d", i), Name: "b", Guest: true, TokenID: auth.NewTokenID()}, time.Now(), time.Hour)
		require.NoError(b, err)
		p := &player{}
		var me uint32
		var meMu sync.Mutex
		var tick frame.RoomTick
		p.c, err = client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: tok,
			PingInterval: -1,
			Handler: func(m client.Message) {
				if m.Kind != frame.KindRoomTick || m.Decode(&tick) != nil {
					return
				}
				now := time.Now()
				meMu.Lock()
				id := me
				meMu.Unlock()
				for _, in := range tick.Inputs {
					if in.Member == id && len(in.Data) == 8 {
						sent := time.Unix(0, int64(binary.BigEndian.Uint64(in.Data)))
						p.mu.Lock()
						p.lats = append(p.lats, now.Sub(sent))
						p.mu.Unlock()
					}
				}
			}})
		require.NoError(b, err)
		p.r, err = p.c.JoinOrCreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "bench", Capacity: members, TickRate: hz})
		require.NoError(b, err)
		meMu.Lock()
		me = p.r.Me()
		meMu.Unlock()
		return p
	}
	for i := range players { // sequential joins fill each room before the next
		players[i] = dial(i)
	}
	defer func() {
		for _, p := range players {
			_ = p.c.Close()
		}
	}()
	require.Equal(b, nrooms, srv.Rooms().Stats().Rooms)

	period := time.Second / time.Duration(hz)
	buf := make([]byte, 8)
	rounds := 0
	round := func() {
		// Spread the round's sends over the period, like independent
		// clients would.
		start := time.Now()
		rounds++
		for i, p := range players {
			if (i+rounds)%every != 0 {
				continue
			}
			binary.BigEndian.PutUint64(buf, uint64(time.Now().UnixNano()))
			if _, err := p.r.SendInput(netcode.Reliable, buf); err != nil {
				b.Fatal(err)
			}
			if i%100 == 99 {
				time.Sleep(time.Until(start.Add(period * time.Duration(i+1) / time.Duration(len(players)))))
			}
		}
		time.Sleep(time.Until(start.Add(period)))
	}
	for i := 0; i < hz; i++ { // one second of warm-up
		round()
	}
	for _, p := range players {
		p.mu.Lock()
		p.lats = p.lats[:0]
		p.mu.Unlock()
	}
	srv.Rooms().ResetTimings()
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	wall0 := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		round()
	}
	time.Sleep(3 * period) // let the last inputs come back
	b.StopTimer()
	wall := time.Since(wall0)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) - time.Duration(ru0.Utime.Nano()+ru0.Stime.Nano())

	var all []time.Duration
	for _, p := range players {
		p.mu.Lock()
		all = append(all, p.lats...)
		p.mu.Unlock()
	}
	sent := b.N * len(players) / every
	require.NotEmpty(b, all)
	slices.Sort(all)
	q := func(f float64) time.Duration { return all[min(len(all)-1, int(f*float64(len(all))))] }
	b.ReportMetric(float64(q(0.50).Microseconds()), "lat-p50-µs")
	b.ReportMetric(float64(q(0.99).Microseconds()), "lat-p99-µs")
	b.ReportMetric(float64(q(0.999).Microseconds()), "lat-p999-µs")
	b.ReportMetric(float64(len(all))/float64(sent), "delivered")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	st := srv.Rooms().Stats().Types[room.RelayType]
	b.ReportMetric(float64(st.Lateness.P99.Microseconds()), "tick-late-p99-µs")
	b.ReportMetric(float64(st.Skipped), "skipped")
	// Transport counters of the client sessions: the redundancy level they
	// ended at and the share of their bytes spent on redundant copies.
	var level, sentBytes, redBytes, retx float64
	for _, p := range players {
		cs := p.c.Stats()
		level += float64(cs.Redundancy)
		sentBytes += float64(cs.BytesSent)
		redBytes += float64(cs.RedundantBytes)
		retx += float64(cs.Retransmits)
	}
	b.ReportMetric(level/float64(len(players)), "client-red-level")
	b.ReportMetric(100*redBytes/max(sentBytes, 1), "client-red-bytes-%")
	b.ReportMetric(retx/float64(len(players)), "client-retx/session")
}
