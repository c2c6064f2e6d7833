package social_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// fanoutTracker counts the deliveries of the message being timed.
type fanoutTracker struct {
	total atomic.Int64 // every Message frame received by any member

	mu   sync.Mutex // guards the fields below
	seq  string     // body of the message being timed
	got  int
	want int
	last time.Time
	done chan struct{}
}

func (tr *fanoutTracker) handle(m client.Message) {
	if m.Kind != frame.KindMessage {
		return
	}
	var msg frame.Message
	if frame.Unmarshal(m.Data, &msg) != nil {
		return
	}
	tr.total.Add(1)
	now := time.Now()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if msg.Body == tr.seq {
		tr.got++
		tr.last = now
		if tr.got == tr.want {
			close(tr.done)
		}
	}
}

func (tr *fanoutTracker) arm(seq string) chan struct{} {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seq, tr.got, tr.done = seq, 0, make(chan struct{})
	return tr.done
}

// BenchmarkE2EGroupFanout1000 runs a whole server and 1,000 real clients
// over loopback TCP, all members of one group, and times group messages
// from the send (client side) to the last member's receipt (client side):
// p50/p99 per message sent one at a time ("latency"), and the messages and
// deliveries per second with 8 sends in flight ("throughput").
//
//	go test -run xxx -bench E2EGroupFanout -benchtime 200x ./engine/social/
func BenchmarkE2EGroupFanout1000(b *testing.B) {
	const members = 1000
	srv := servertest.Start(b, server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		Engine:     engine.Config{MaxFramesPerSecond: -1, MaxSessionsPerIP: -1}, // every member dials from 127.0.0.1
		Accounts: accounts.Config{
			Argon2:             accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32},
			RegistrationsPerIP: 1 << 20,
		},
		Social: social.Config{MessagesPerSecond: 1e9, MessageBurst: 1 << 30, MaxGroupMembers: members},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	type acct struct {
		Token  string `json:"token"`
		UserID string `json:"user_id"`
	}
	accts := make([]acct, members)
	for i := range accts {
		require.NoError(b, client.PostJSON(ctx, nil, srv.HTTPURL()+"/v1/auth/register",
			map[string]string{"username": fmt.Sprintf("m%04d", i), "password": "long enough pw"}, &accts[i]))
	}
	g, err := srv.Social().CreateGroup(ctx, time.Now(), accts[0].UserID, "fanout", frame.GroupOpen)
	require.NoError(b, err)
	for _, a := range accts[1:] {
		require.NoError(b, srv.Social().JoinGroup(ctx, time.Now(), a.UserID, g.ID))
	}
	tr := &fanoutTracker{want: members - 1}
	sender, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: accts[0].Token, QueueSize: 4096})
	require.NoError(b, err)
	b.Cleanup(func() { _ = sender.Close() })
	for _, a := range accts[1:] {
		c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: a.Token, Handler: tr.handle})
		require.NoError(b, err)
		b.Cleanup(func() { _ = c.Close() })
	}
	require.Eventually(b, func() bool { return srv.Social().Stats().Sessions == members }, time.Minute, 10*time.Millisecond)

	b.Run("latency", func(b *testing.B) {
		lat := make([]time.Duration, 0, 1024)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			seq := "lat-" + strconv.Itoa(i)
			i++
			done := tr.arm(seq)
			t0 := time.Now()
			if _, err := sender.SendGroup(ctx, g.ID, seq); err != nil {
				b.Fatal(err)
			}
			select {
			case <-done:
			case <-ctx.Done():
				b.Fatal("deliveries incomplete")
			}
			tr.mu.Lock()
			lat = append(lat, tr.last.Sub(t0))
			tr.mu.Unlock()
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	})

	b.Run("throughput", func(b *testing.B) {
		const inFlight = 8
		start := tr.total.Load()
		b.ReportAllocs()
		t0 := time.Now()
		var wg sync.WaitGroup
		var next atomic.Int64
		for range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					if _, err := sender.SendGroup(ctx, g.ID, "tp"); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		want := start + int64(b.N)*(members-1)
		require.Eventually(b, func() bool { return tr.total.Load() >= want }, time.Minute, time.Millisecond)
		elapsed := time.Since(t0)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(int64(b.N)*(members-1))/elapsed.Seconds(), "deliveries/s")
	})
}
