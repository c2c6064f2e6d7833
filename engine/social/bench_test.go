package social

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// benchPeer counts what it is sent and remembers when the last frame came.
type benchPeer struct {
	sid  uint64
	uid  string
	n    atomic.Uint64
	last atomic.Int64 // UnixNano of the last Send
}

func (p *benchPeer) SessionID() uint64   { return p.sid }
func (p *benchPeer) UserID() string      { return p.uid }
func (p *benchPeer) DisplayName() string { return p.uid }
func (p *benchPeer) Guest() bool         { return false }
func (p *benchPeer) Send(netcode.Channel, []byte) bool {
	p.n.Add(1)
	p.last.Store(time.Now().UnixNano())
	return true
}
func (p *benchPeer) Close(netcode.Code, string) {}

// BenchmarkGroupFanout1000 sends messages to a group of 1,000 online
// members (one session each, in-process peers) and reports the time from
// the send to the last member's delivery (p50/p99, µs) and the messages
// and deliveries per second one node sustains. Delivery means queued to
// the session's writer: the service's part of the path.
func BenchmarkGroupFanout1000(b *testing.B) {
	const members = 1000
	e := newEnv(b, Config{MessagesPerSecond: 1e9, MessageBurst: 1 << 30, MaxGroupMembers: members})
	ctx := context.Background()
	peers := make([]*benchPeer, members)
	for i := range peers {
		u, err := e.users.CreateUser(ctx, fmt.Sprintf("member%04d", i), "", nil)
		require.NoError(b, err)
		peers[i] = &benchPeer{sid: sessionIDs.Add(1), uid: u.ID}
	}
	owner := peers[0].uid
	g, err := e.svc.CreateGroup(ctx, e.clock.Now(), owner, "fanout", frame.GroupOpen)
	require.NoError(b, err)
	for _, p := range peers[1:] {
		require.NoError(b, e.svc.JoinGroup(ctx, e.clock.Now(), p.uid, g.ID))
	}
	for _, p := range peers {
		e.svc.PeerOpened(p)
	}
	require.Eventually(b, func() bool {
		e.svc.mu.Lock()
		defer e.svc.mu.Unlock()
		for _, ps := range e.svc.peers {
			if ps.syncing {
				return false
			}
		}
		return true
	}, 30*time.Second, time.Millisecond)
	for _, p := range peers { // the join events
		p.n.Store(0)
	}

	body := string(make([]byte, 100))
	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		// As from the owner's session, which gets MessageSent, not a copy.
		if _, _, err := e.svc.sendGroup(ctx, t0, peers[0].sid, owner, "owner", g.ID, body); err != nil {
			b.Fatal(err)
		}
		var last int64
		for _, p := range peers[1:] {
			last = max(last, p.last.Load())
		}
		lat = append(lat, time.Duration(last-t0.UnixNano()))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	for _, p := range peers[1:] {
		if got := p.n.Load(); got != uint64(b.N) {
			b.Fatalf("member got %d messages, want %d", got, b.N)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N*(members-1))/elapsed.Seconds(), "deliveries/s")
}

// BenchmarkDirectMessage measures one direct message between online
// friends: store, fan-out to one session, reply.
func BenchmarkDirectMessage(b *testing.B) {
	e := newEnv(b, Config{MessagesPerSecond: 1e9, MessageBurst: 1 << 30}, "alice", "bob")
	ctx := context.Background()
	now := e.clock.Now()
	require.NoError(b, e.svc.RequestFriend(ctx, now, e.ids["alice"], "bob"))
	require.NoError(b, e.svc.AcceptFriend(ctx, now, e.ids["bob"], e.ids["alice"]))
	bob := &benchPeer{sid: sessionIDs.Add(1), uid: e.ids["bob"]}
	e.svc.PeerOpened(bob)
	require.Eventually(b, func() bool {
		e.svc.mu.Lock()
		defer e.svc.mu.Unlock()
		return !e.svc.peers[bob.sid].syncing
	}, 5*time.Second, time.Millisecond)
	bob.n.Store(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.svc.SendDirect(ctx, now, e.ids["alice"], "alice", e.ids["bob"], "hello bob"); err != nil {
			b.Fatal(err)
		}
	}
	require.Equal(b, uint64(b.N), bob.n.Load())
}

// BenchmarkPresenceTick measures the timer loop over 10,000 online users.
func BenchmarkPresenceTick(b *testing.B) {
	e := newEnv(b, Config{})
	for i := range 10000 {
		e.svc.PeerOpened(&benchPeer{sid: sessionIDs.Add(1), uid: fmt.Sprintf("u%d", i)})
	}
	now := e.clock.Now()
	b.ReportAllocs()
	for b.Loop() {
		e.svc.tick(now)
	}
}
