package social_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
)

// Cross-node benchmarks (docs/PERFORMANCE.md, "Issue 15"): three servers
// in this process sharing one PostgreSQL database, an embedded NATS
// server, real clients over loopback TCP.

func benchTune(c *server.Config) {
	c.Engine = engine.Config{MaxFramesPerSecond: -1, MaxSessionsPerIP: -1}
	c.Accounts.RegistrationsPerIP = 1 << 20
}

// arrivals records when each message id reached a client.
type arrivals struct {
	mu   sync.Mutex
	at   map[uint64]time.Time
	body map[string]int // deliveries per body
	last map[string]time.Time
	wake chan struct{}
}

func newArrivals() *arrivals {
	return &arrivals{at: map[uint64]time.Time{}, body: map[string]int{}, last: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

func (a *arrivals) handle(m client.Message) {
	if m.Kind != frame.KindMessage {
		return
	}
	now := time.Now()
	var msg frame.Message
	if frame.Unmarshal(m.Data, &msg) != nil {
		return
	}
	a.mu.Lock()
	a.at[msg.ID] = now
	a.body[msg.Body]++
	a.last[msg.Body] = now
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// waitBody waits until body was delivered n times and returns the last
// arrival.
func (a *arrivals) waitBody(ctx context.Context, body string, n int) (time.Time, error) {
	for {
		a.mu.Lock()
		got, last := a.body[body], a.last[body]
		a.mu.Unlock()
		if got >= n {
			return last, nil
		}
		select {
		case <-a.wake:
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s: %d of %d deliveries", body, got, n)
		}
	}
}

func percentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkClusterDirect times a direct message from a client on node 0
// to its recipient on node 1, one at a time: from the send (client side)
// to the recipient's receipt (client side).
//
//	go test -run '^$' -bench ClusterDirect -benchtime 2000x ./engine/social/
func BenchmarkClusterDirect(b *testing.B) {
	ns := startNATS(b)
	nodes := startCluster(b, ns, 3, social.Config{MessagesPerSecond: 1e9, MessageBurst: 1 << 30}, benchTune)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var ua, ub account
	require.NoError(b, client.PostJSON(ctx, nil, nodes[0].srv.HTTPURL()+"/v1/auth/register",
		map[string]string{"username": "alice", "password": "long enough pw"}, &ua))
	require.NoError(b, client.PostJSON(ctx, nil, nodes[1].srv.HTTPURL()+"/v1/auth/register",
		map[string]string{"username": "bob", "password": "long enough pw"}, &ub))
	require.NoError(b, nodes[0].social().RequestFriend(ctx, time.Now(), ua.UserID, "bob"))
	require.NoError(b, nodes[1].social().AcceptFriend(ctx, time.Now(), ub.UserID, ua.UserID))
	sender, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: nodes[0].srv.Addr("tcp")}.Dial, Token: ua.Token})
	require.NoError(b, err)
	b.Cleanup(func() { _ = sender.Close() })
	arr := newArrivals()
	rcv, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: nodes[1].srv.Addr("tcp")}.Dial, Token: ub.Token, Handler: arr.handle})
	require.NoError(b, err)
	b.Cleanup(func() { _ = rcv.Close() })
	_, err = rcv.Ping(ctx)
	require.NoError(b, err)

	lat := make([]time.Duration, 0, 4096)
	i := 0
	for b.Loop() {
		body := "d" + strconv.Itoa(i)
		i++
		t0 := time.Now()
		if _, err := sender.SendDirect(ctx, ub.UserID, body); err != nil {
			b.Fatal(err)
		}
		at, err := arr.waitBody(ctx, body, 1)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, at.Sub(t0))
	}
	percentiles(b, lat)
}

// BenchmarkClusterGroupFanout1000 times a group message to 1,000 members
// spread over three nodes (the sender on node 0): from the send (client
// side) to the last member's receipt (client side).
//
//	go test -run '^$' -bench ClusterGroupFanout -benchtime 100x ./engine/social/
func BenchmarkClusterGroupFanout1000(b *testing.B) {
	const members = 1000
	ns := startNATS(b)
	nodes := startCluster(b, ns, 3, social.Config{MessagesPerSecond: 1e9, MessageBurst: 1 << 30, MaxGroupMembers: members}, benchTune)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	accts := make([]account, members)
	for i := range accts {
		require.NoError(b, client.PostJSON(ctx, nil, nodes[i%3].srv.HTTPURL()+"/v1/auth/register",
			map[string]string{"username": fmt.Sprintf("m%04d", i), "password": "long enough pw"}, &accts[i]))
	}
	svc := nodes[0].social()
	g, err := svc.CreateGroup(ctx, time.Now(), accts[0].UserID, "fanout", frame.GroupOpen)
	require.NoError(b, err)
	for _, a := range accts[1:] {
		require.NoError(b, svc.JoinGroup(ctx, time.Now(), a.UserID, g.ID))
	}
	arr := newArrivals()
	sender, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: nodes[0].srv.Addr("tcp")}.Dial, Token: accts[0].Token, QueueSize: 4096})
	require.NoError(b, err)
	b.Cleanup(func() { _ = sender.Close() })
	for i, a := range accts[1:] {
		c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: nodes[(i+1)%3].srv.Addr("tcp")}.Dial, Token: a.Token, Handler: arr.handle})
		require.NoError(b, err)
		b.Cleanup(func() { _ = c.Close() })
	}
	require.Eventually(b, func() bool {
		n := 0
		for _, nd := range nodes {
			n += nd.social().Stats().Sessions
		}
		return n == members
	}, time.Minute, 10*time.Millisecond)

	lat := make([]time.Duration, 0, 1024)
	i := 0
	for b.Loop() {
		body := "g" + strconv.Itoa(i)
		i++
		t0 := time.Now()
		if _, err := sender.SendGroup(ctx, g.ID, body); err != nil {
			b.Fatal(err)
		}
		last, err := arr.waitBody(ctx, body, members-1)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, last.Sub(t0))
	}
	percentiles(b, lat)
}
