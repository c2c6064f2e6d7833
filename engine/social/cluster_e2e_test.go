package social_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/social/natsbroker"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/internal/clustertest"
	"github.com/tickwire/tickwire/internal/pgtest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// Social across nodes: three whole servers on loopback sharing one
// PostgreSQL database (internal/pgtest: the shared store and token key),
// an embedded NATS server on a loopback port, Go clients over TCP.

// natsServer is an embedded NATS server that can be stopped and started
// again on the same port.
type natsServer struct {
	t    testing.TB
	port int
	mu   sync.Mutex
	ns   *natsserver.Server
}

func startNATS(t testing.TB) *natsServer {
	t.Helper()
	n := &natsServer{t: t, port: -1}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *natsServer) start() {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true})
	require.NoError(n.t, err)
	ns.Start()
	require.True(n.t, ns.ReadyForConnections(5*time.Second))
	n.mu.Lock()
	n.ns = ns
	n.port = ns.Addr().(*net.TCPAddr).Port
	n.mu.Unlock()
}

func (n *natsServer) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ns.Shutdown()
	n.ns.WaitForShutdown()
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// node is one server of the cluster.
type node struct {
	srv *server.Server
	nc  *nats.Conn
	dsn string // the shared store
}

func (n *node) social() *social.Service { return n.srv.Social() }

// startCluster starts k nodes "n0".."n<k-1>" sharing dataDir and ns.
func startCluster(t testing.TB, ns *natsServer, k int, sc social.Config, tune ...func(*server.Config)) []*node {
	t.Helper()
	dsn := pgtest.DB(t)
	nodes := make([]*node, k)
	for i := range nodes {
		nd := &node{dsn: dsn}
		nc, err := nats.Connect(ns.url(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.Name(fmt.Sprintf("n%d", i)))
		require.NoError(t, err)
		b := natsbroker.New(nc, 0, 0)
		t.Cleanup(func() { b.Close(); nc.Close() }) // after the server's shutdown (cleanups run last first)
		c := sc
		c.Broker, c.NodeID = b, fmt.Sprintf("n%d", i)
		nd.nc = nc
		cfg := server.Config{
			Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
			StoreDSN:   dsn,
			Accounts:   accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}},
			Social:     c,
		}
		for _, f := range tune {
			f(&cfg)
		}
		nd.srv = servertest.Start(t, cfg)
		b.SetGap(nd.srv.Social().BrokerReconnected)
		nodes[i] = nd
	}
	return nodes
}

// clusterFriends registers alice and bob, connects alice to a and bob to
// b, and makes them friends (the request and the acceptance cross nodes).
func clusterFriends(t *testing.T, a, b *node) (ua, ub account, sa, sb *session) {
	t.Helper()
	ua, ub = register(t, a.srv, "alice"), register(t, b.srv, "bob")
	sa, sb = dial(t, a.srv, ua.Token), dial(t, b.srv, ub.Token)
	// As an app does: bob accepts once the request reached him.
	require.NoError(t, sa.RequestFriend(ctxT(t), ub.Name))
	assert.Equal(t, frame.FriendEventRequested, sa.friendUpdate(t).Event)
	assert.Equal(t, frame.FriendEventRequested, sb.friendUpdate(t).Event)
	require.NoError(t, sb.AcceptFriend(ctxT(t), ua.UserID))
	assert.Equal(t, frame.FriendEventAccepted, sa.friendUpdate(t).Event)
	assert.Equal(t, frame.FriendEventAccepted, sb.friendUpdate(t).Event)
	return ua, ub, sa, sb
}

func TestClusterDirectMessagesOnceInOrder(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 3, social.Config{MessagesPerSecond: 1000, MessageBurst: 1000})
	ua, ub, sa, sb := clusterFriends(t, nodes[0], nodes[1])
	// bob's second device on the third node, alice's too.
	sb2 := dial(t, nodes[2].srv, login(t, nodes[2].srv, ub).Token)
	sa2 := dial(t, nodes[2].srv, login(t, nodes[2].srv, ua).Token)
	sb2.barrier(t)
	sa2.barrier(t)

	const n = 200
	sent := make([]uint64, n)
	for i := range n {
		ms, err := sa.SendDirect(ctxT(t), ub.UserID, fmt.Sprintf("m%03d", i))
		require.NoError(t, err)
		sent[i] = ms.ID
	}
	for _, s := range []*session{sb, sb2, sa2} {
		for i := range n {
			m := s.message(t)
			require.Equal(t, sent[i], m.ID, "message %d in order", i)
			require.Equal(t, fmt.Sprintf("m%03d", i), m.Body)
		}
	}
	for _, s := range []*session{sa, sb, sb2, sa2} {
		s.barrier(t)
		assert.Zero(t, s.count(frame.KindMessage, nil), "each message exactly once per session")
	}
	st := nodes[0].social().Stats().Cluster
	assert.Equal(t, "n0", st.Node)
	assert.NotZero(t, st.Published)
	assert.Zero(t, st.Dropped)
	assert.NotZero(t, nodes[1].social().Stats().Cluster.Received)

	// The same figures on /metrics: bob, on nodes 1 and 2, is a remote
	// user on node 0; nobody is idle there; no call.
	require.Eventually(t, func() bool { return nodes[0].social().Stats().Cluster.RemoteUsers >= 1 }, 10*time.Second, 10*time.Millisecond)
	m := gatherSocial(t, nodes[0].social())
	st = nodes[0].social().Stats().Cluster
	assert.Equal(t, float64(st.RemoteUsers), m["tickwire_social_cluster_remote_users"])
	assert.Equal(t, float64(st.RemoteIdle), m["tickwire_social_cluster_remote_idle"])
	assert.Equal(t, 0.0, m["tickwire_social_cluster_remote_calls"])
	assert.Positive(t, m["tickwire_social_cluster_published_total"])
}

// gatherSocial reads s's Prometheus series without labels, by name.
func gatherSocial(t *testing.T, s *social.Service) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(s.Collector()))
	fams, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) > 0 {
				continue
			}
			switch {
			case m.GetGauge() != nil:
				out[f.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[f.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestClusterGroupMessagesOnceInOrder(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 3, social.Config{MessagesPerSecond: 1000, MessageBurst: 1000})
	users := make([]account, 6)
	sess := make([]*session, 6)
	for i := range users {
		nd := nodes[i%3]
		users[i] = register(t, nd.srv, fmt.Sprintf("member%d", i))
		sess[i] = dial(t, nd.srv, users[i].Token)
	}
	ctx := ctxT(t)
	g, err := sess[0].CreateGroup(ctx, "squad", frame.GroupInviteOnly)
	require.NoError(t, err)
	for i := 1; i < len(users); i++ {
		require.NoError(t, sess[0].InviteToGroup(ctx, g.ID, users[i].UserID))
		inv := sess[i].take(t, frame.KindGroupUpdate, nil).(*frame.GroupUpdate)
		assert.Equal(t, frame.GroupEventInvited, inv.Event, "the invitation crosses nodes")
		require.NoError(t, sess[i].AcceptGroupInvite(ctx, g.ID))
	}
	// Two senders on different nodes, 50 messages each, interleaved.
	const n = 50
	var sentA, sentB []uint64
	for i := range n {
		m, err := sess[1].SendGroup(ctx, g.ID, fmt.Sprintf("a%02d", i))
		require.NoError(t, err)
		sentA = append(sentA, m.ID)
		m, err = sess[2].SendGroup(ctx, g.ID, fmt.Sprintf("b%02d", i))
		require.NoError(t, err)
		sentB = append(sentB, m.ID)
	}
	for i, s := range sess {
		var gotA, gotB []uint64
		want := 2 * n
		if i == 1 || i == 2 {
			want = n // not their own
		}
		for range want {
			m := s.message(t)
			switch m.FromUserID {
			case users[1].UserID:
				gotA = append(gotA, m.ID)
			case users[2].UserID:
				gotB = append(gotB, m.ID)
			}
		}
		if i != 1 {
			assert.Equal(t, sentA, gotA, "member %d: sender 1's messages once, in order", i)
		}
		if i != 2 {
			assert.Equal(t, sentB, gotB, "member %d: sender 2's messages once, in order", i)
		}
		s.barrier(t)
		assert.Zero(t, s.count(frame.KindMessage, nil), "member %d: nothing twice", i)
	}
	// A member removed on one node can no longer send through another
	// node's cached membership.
	require.NoError(t, sess[0].RemoveGroupMember(ctx, g.ID, users[4].UserID))
	sess[4].take(t, frame.KindGroupUpdate, func(f frame.Frame) bool {
		return f.(*frame.GroupUpdate).Event == frame.GroupEventRemoved
	})
	require.Eventually(t, func() bool {
		_, err := sess[4].SendGroup(ctx, g.ID, "still here?")
		return err != nil
	}, wait, 10*time.Millisecond)
}

func TestClusterPresenceAggregatesNodes(t *testing.T) {
	ns := startNATS(t)
	grace := 100 * time.Millisecond
	nodes := startCluster(t, ns, 3, social.Config{PresenceGrace: grace})
	ua, ub, sa, sb := clusterFriends(t, nodes[0], nodes[1])
	// alice (n0) sees bob (n1) online.
	sa.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOnline))

	// bob also on n2, then leaves n1: still online for alice.
	sb2 := dial(t, nodes[2].srv, login(t, nodes[2].srv, ub).Token)
	sb2.barrier(t)
	require.NoError(t, sb.Close())
	require.Eventually(t, func() bool { return nodes[1].social().Stats().OnlineUsers == 0 }, wait, 10*time.Millisecond,
		"n1 forgets bob after the grace period")
	// alice connects to n1, which no longer holds bob: she sees him online
	// (from n2), and a message she sends from there is a marker: once its
	// copy reaches her session on n0, n0 has handled what n1 published
	// before it (NATS keeps one connection's order), n1's "offline" too.
	sa3 := dial(t, nodes[1].srv, login(t, nodes[1].srv, ua).Token)
	sa3.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOnline))
	marker, err := sa3.SendDirect(ctxT(t), ub.UserID, "marker")
	require.NoError(t, err)
	require.Equal(t, marker.ID, sa.message(t).ID)
	sa.barrier(t)
	assert.Zero(t, sa.count(frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOffline)),
		"bob is still on n2: alice is not told offline")
	p, _ := nodes[0].social().Presence(ub.UserID)
	assert.Equal(t, frame.PresenceOnline, p)

	// bob's status set on n2 reaches alice on n0 and n1.
	require.NoError(t, sb2.SetPresence(ctxT(t), frame.PresenceAway, "brb"))
	for _, s := range []*session{sa, sa3} {
		u := s.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceAway)).(*frame.PresenceUpdate)
		assert.Equal(t, "brb", u.StatusText)
	}

	// bob leaves n2 too: offline everywhere.
	require.NoError(t, sb2.Close())
	for _, s := range []*session{sa, sa3} {
		s.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOffline))
	}
}

func TestClusterNodeGoneDropsPresence(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 3, social.Config{})
	_, ub, sa, _ := clusterFriends(t, nodes[0], nodes[1])
	sa.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOnline))
	// The membership reports n1 dead (its sessions never said goodbye).
	nodes[0].social().NodeGone("n1")
	sa.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOffline))
	p, _ := nodes[0].social().Presence(ub.UserID)
	assert.Equal(t, frame.PresenceOffline, p)
}

func TestClusterOfflineMessagesOnReconnectElsewhere(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 3, social.Config{})
	_, ub, sa, sb := clusterFriends(t, nodes[0], nodes[1])
	first, err := sa.SendDirect(ctxT(t), ub.UserID, "before")
	require.NoError(t, err)
	require.Equal(t, first.ID, sb.message(t).ID)
	require.NoError(t, sb.AckMessages(first.ID))
	sb.barrier(t)
	require.NoError(t, sb.Close())

	var sent []uint64
	for i := range 5 {
		m, err := sa.SendDirect(ctxT(t), ub.UserID, fmt.Sprintf("while away %d", i))
		require.NoError(t, err)
		sent = append(sent, m.ID)
	}
	// bob comes back on another node: the inbox from the shared store.
	sb3 := dial(t, nodes[2].srv, login(t, nodes[2].srv, ub).Token)
	var got []uint64
	for range sent {
		got = append(got, sb3.message(t).ID)
	}
	// The acknowledged "before" may come again (its cursor had not
	// settled); the ones sent while away come once each, in order.
	if len(got) > 0 && got[0] == first.ID {
		got = append(got[1:], sb3.message(t).ID)
	}
	assert.Equal(t, sent, got)
}

func TestClusterNATSRestartLosesNoAcknowledgedMessage(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 3, social.Config{MessagesPerSecond: 1000, MessageBurst: 1000, ClusterSettle: 300 * time.Millisecond})
	_, ub, sa, sb := clusterFriends(t, nodes[0], nodes[1])

	// bob acknowledges what he gets, as an app does.
	var mu sync.Mutex
	got := map[uint64]int{}
	stop, done := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-done }()
	go func() {
		defer close(done)
		for {
			select {
			case <-sb.notify:
			case <-stop:
				return
			}
			sb.mu.Lock()
			var high uint64
			for i, m := range sb.msgs {
				if sb.used[i] || m.Kind != frame.KindMessage {
					continue
				}
				sb.used[i] = true
				f, _, _ := client.DecodeSocial(m)
				id := f.(*frame.Message).ID
				mu.Lock()
				got[id]++
				mu.Unlock()
				high = max(high, id)
			}
			sb.mu.Unlock()
			if high > 0 {
				_ = sb.AckMessages(high)
			}
		}
	}()

	var sent []uint64
	send := func(i int) {
		m, err := sa.SendDirect(ctxT(t), ub.UserID, fmt.Sprintf("m%d", i))
		require.NoError(t, err, "stored and acknowledged with NATS up or down")
		sent = append(sent, m.ID)
	}
	for i := range 30 {
		send(i)
	}
	ns.stop()
	for i := 30; i < 60; i++ {
		send(i) // NATS down: stored, acknowledged, not published
	}
	ns.start()
	require.Eventually(t, func() bool { return nodes[0].nc.IsConnected() && nodes[1].nc.IsConnected() }, wait, 10*time.Millisecond)
	for i := 60; i < 90; i++ {
		send(i)
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range sent {
			if got[id] == 0 {
				return false
			}
		}
		return true
	}, wait, 10*time.Millisecond, "every acknowledged message reaches bob, live or from the store")
	mu.Lock()
	for _, id := range sent {
		assert.Equal(t, 1, got[id], "message %d once to the session", id)
	}
	mu.Unlock()
	assert.NotZero(t, nodes[0].social().Stats().Cluster.Errors, "publishes refused while NATS was down are counted")
	assert.NotZero(t, nodes[1].social().Stats().Cluster.Resyncs, "bob's node read his inbox again after the outage")
}

func TestClusterCallAcrossNodes(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 3, social.Config{})
	ua, ub, sa, sb := clusterFriends(t, nodes[0], nodes[1])
	sa.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOnline))
	sb2 := dial(t, nodes[2].srv, login(t, nodes[2].srv, ub).Token)
	sb2.barrier(t)

	ring, err := sa.Invite(ctxT(t), ub.UserID)
	require.NoError(t, err)
	require.Equal(t, frame.CallRinging, ring.State)
	id := ring.CallID
	for _, s := range []*session{sb, sb2} {
		u := s.callUpdate(t, id, frame.CallRinging)
		assert.Equal(t, ua.UserID, u.CallerID, "bob rings on every node")
	}
	// A session bob opens on n2 while it rings rings too.
	sb3 := dial(t, nodes[2].srv, login(t, nodes[2].srv, ub).Token)
	sb3.callUpdate(t, id, frame.CallRinging)
	require.NoError(t, sb.AcceptCall(ctxT(t), id))
	require.ErrorIs(t, sb2.AcceptCall(ctxT(t), id), netcode.CodeCallAnswered, "the first accept wins")
	act := sa.callUpdate(t, id, frame.CallActive)
	assert.Equal(t, sb.Welcome().SessionID, act.CalleeSession)
	sb.callUpdate(t, id, frame.CallActive)
	sb2.callUpdate(t, id, frame.CallActive)

	// Signaling within the call crosses nodes both ways.
	require.NoError(t, sa.SignalCall(ctxT(t), id, []byte("offer")))
	assert.Equal(t, []byte("offer"), sb.signal(t).Payload)
	require.NoError(t, sb.SignalCall(ctxT(t), id, []byte("answer")))
	assert.Equal(t, []byte("answer"), sa.signal(t).Payload)
	_ = sb2

	require.NoError(t, sb.EndCall(ctxT(t), id))
	for _, s := range []*session{sa, sb, sb2} {
		u := s.callUpdate(t, id, frame.CallEnded)
		assert.Equal(t, frame.CallEndHungUp, u.Reason)
	}
	// A friend signal crosses nodes too.
	require.NoError(t, sa.SignalFriend(ctxT(t), ub.UserID, []byte("hi")))
	for _, s := range []*session{sb, sb2} {
		assert.Equal(t, []byte("hi"), s.signal(t).Payload)
	}
}

// TestClusterCalleeLeavingEveryNodeEndsTheCall: as on one node, a ringing
// call ends "disconnected" when the callee's last session closes — here
// the last on every node, while each node's presence still shows bob
// during its grace. Closing bob's last session on one node while he is
// on another leaves it ringing; a session he opens there again counts.
func TestClusterCalleeLeavingEveryNodeEndsTheCall(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 3, social.Config{RingTimeout: time.Minute, PresenceGrace: time.Minute})
	_, ub, sa, sb := clusterFriends(t, nodes[0], nodes[1])
	sa.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOnline))
	sb2 := dial(t, nodes[2].srv, ub.Token)
	sb2.barrier(t)
	owner := nodes[0].social()
	// idle: the owner has heard that n of bob's nodes hold no session
	// of his (only their presence grace).
	idle := func(n int) func() bool {
		return func() bool { return owner.Stats().Cluster.RemoteIdle == n }
	}
	ended := func(id uint64) func(frame.Frame) bool { return callOf(id, frame.CallEnded) }

	// Bob on n1 and n2, the call owned by n0: n1 closes, it rings on n2;
	// n2 closes, it ends.
	ring, err := sa.Invite(ctxT(t), ub.UserID)
	require.NoError(t, err)
	id := ring.CallID
	sb.callUpdate(t, id, frame.CallRinging)
	sb2.callUpdate(t, id, frame.CallRinging)
	require.NoError(t, sb.Close())
	require.Eventually(t, idle(1), wait, 10*time.Millisecond, "n1 tells the owner bob left it")
	sa.barrier(t)
	sb2.barrier(t)
	assert.Zero(t, sa.count(frame.KindCallUpdate, ended(id)), "still rings on n2")
	assert.Zero(t, sb2.count(frame.KindCallUpdate, ended(id)))
	require.NoError(t, sb2.Close())
	u := sa.callUpdate(t, id, frame.CallEnded)
	assert.Equal(t, frame.CallEndDisconnected, u.Reason, "bob's last session anywhere closed")
	assert.Equal(t, 0, owner.Stats().Calls.Ringing)
	// Shown online (the grace) but on no node: offline for a call, as on
	// one node.
	assert.Equal(t, 2, owner.Stats().Cluster.RemoteIdle)
	_, err = sa.Invite(ctxT(t), ub.UserID)
	require.ErrorIs(t, err, netcode.CodeUserOffline)

	// Bob on the owner's node and n1: n1 closes, then the one on n0: it
	// ends (n0 does not count n1, whose presence still shows bob).
	sb0 := dial(t, nodes[0].srv, ub.Token)
	sb1 := dial(t, nodes[1].srv, ub.Token)
	sb0.barrier(t)
	sb1.barrier(t)
	require.Eventually(t, idle(1), wait, 10*time.Millisecond, "n1 holds bob again")
	ring, err = sa.Invite(ctxT(t), ub.UserID)
	require.NoError(t, err)
	id = ring.CallID
	sb0.callUpdate(t, id, frame.CallRinging)
	sb1.callUpdate(t, id, frame.CallRinging)
	require.NoError(t, sb1.Close())
	require.Eventually(t, idle(2), wait, 10*time.Millisecond)
	require.NoError(t, sb0.Close())
	u = sa.callUpdate(t, id, frame.CallEnded)
	assert.Equal(t, frame.CallEndDisconnected, u.Reason, "bob's last session, on the owner's node, closed")

	// Bob on n0 and n1 again; n1 closes, then bob opens a session on n1
	// again: it rings, and n1 tells the owner, so the close of his
	// session on n0 leaves the call ringing for it.
	sb0 = dial(t, nodes[0].srv, ub.Token)
	sb1 = dial(t, nodes[1].srv, ub.Token)
	sb0.barrier(t)
	sb1.barrier(t)
	require.Eventually(t, idle(1), wait, 10*time.Millisecond, "n1 holds bob again")
	ring, err = sa.Invite(ctxT(t), ub.UserID)
	require.NoError(t, err)
	id = ring.CallID
	sb0.callUpdate(t, id, frame.CallRinging)
	sb1.callUpdate(t, id, frame.CallRinging)
	require.NoError(t, sb1.Close())
	require.Eventually(t, idle(2), wait, 10*time.Millisecond)
	sb1 = dial(t, nodes[1].srv, ub.Token)
	sb1.callUpdate(t, id, frame.CallRinging)
	require.Eventually(t, idle(1), wait, 10*time.Millisecond, "n1 holds bob again")
	require.NoError(t, sb0.Close())
	require.Eventually(t, func() bool { return owner.Stats().Sessions == 1 }, wait, 10*time.Millisecond, "n0 closed bob's session")
	sa.barrier(t)
	assert.Zero(t, sa.count(frame.KindCallUpdate, ended(id)), "bob is back on n1")
	require.NoError(t, sb1.AcceptCall(ctxT(t), id))
	act := sa.callUpdate(t, id, frame.CallActive)
	assert.Equal(t, sb1.Welcome().SessionID, act.CalleeSession)
}

// TestClusterLostPublishComesFromTheStore: a message another node stored
// but whose publish never arrived (lost by the bus) is not skipped by the
// acknowledgement cursor: when bob's acknowledgement of a later message
// settles, his node finds the gap in the store, holds the cursor and
// sends it from the store.
func TestClusterLostPublishComesFromTheStore(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 2, social.Config{ClusterSettle: 200 * time.Millisecond})
	ua, ub, sa, sb := clusterFriends(t, nodes[0], nodes[1])
	pool, err := store.OpenPostgres(ctxT(t), nodes[0].dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	lost := frame.ChatMessage{FromUserID: ua.UserID, ToUserID: ub.UserID, FromName: "alice", TimeUs: time.Now().UnixMicro(), Body: "never published"}
	require.NoError(t, social.NewPostgresStore(pool).InsertMessage(ctxT(t), &lost))

	later, err := sa.SendDirect(ctxT(t), ub.UserID, "published")
	require.NoError(t, err)
	require.Equal(t, later.ID, sb.message(t).ID)
	require.NoError(t, sb.AckMessages(later.ID))
	got := sb.message(t)
	assert.Equal(t, lost.ID, got.ID, "the gap is sent from the store")
	assert.Equal(t, "never published", got.Body)
	st := nodes[1].social().Stats().Cluster
	assert.NotZero(t, st.Held)
	assert.NotZero(t, st.Resyncs)
	// bob acknowledges again: the cursor passes both once settled, and a
	// new session on the other node gets neither.
	require.NoError(t, sb.AckMessages(later.ID))
	require.Eventually(t, func() bool {
		msgs, err := nodes[0].social().Inbox(ctxT(t), ub.UserID, 0)
		return err == nil && len(msgs) == 0
	}, wait, 20*time.Millisecond)
}

// TestClusterKilledNodeUsersGoOffline runs the assembled cluster
// (internal/clustertest: the server's own wiring of the broker and the
// membership) on PostgreSQL: a DM crosses nodes, and when node 1 dies
// without a word, its user is shown offline on node 0 within the
// membership's death bound.
func TestClusterKilledNodeUsersGoOffline(t *testing.T) {
	dsn := pgtest.DB(t)
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(i int, cfg *server.Config) {
		cfg.StoreDSN = dsn
		cfg.Accounts = accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}}
		cfg.Transports = []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}}
	}})
	n0, n1 := c.Node(0).Srv, c.Node(1).Srv
	ua, ub := register(t, n0, "alice"), register(t, n1, "bob")
	sa, sb := dial(t, n0, ua.Token), dial(t, n1, ub.Token)
	require.NoError(t, sa.RequestFriend(ctxT(t), ub.Name))
	assert.Equal(t, frame.FriendEventRequested, sb.friendUpdate(t).Event)
	require.NoError(t, sb.AcceptFriend(ctxT(t), ua.UserID))
	sa.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOnline))
	m, err := sa.SendDirect(ctxT(t), ub.UserID, "hello from n0")
	require.NoError(t, err)
	assert.Equal(t, m.ID, sb.message(t).ID)

	killed := time.Now()
	c.Kill(t, 1)
	sa.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOffline))
	took := time.Since(killed)
	t.Logf("bob offline on n0 %v after n1 died (death bound %v)", took, clustertest.DeathBound)
	assert.Less(t, took, clustertest.DeathBound+time.Second, "within the death bound (and the shutdown of the killed server)")
}

// TestClusterBlockReachesTheOtherNode: a block on node 0 ends the
// friendship in node 1's cache too: bob's friend signal is refused there,
// and alice's status no longer reaches him.
func TestClusterBlockReachesTheOtherNode(t *testing.T) {
	ns := startNATS(t)
	nodes := startCluster(t, ns, 2, social.Config{})
	ua, ub, sa, sb := clusterFriends(t, nodes[0], nodes[1])
	sb.take(t, frame.KindPresenceUpdate, presenceOf(ua.UserID, frame.PresenceOnline))
	require.NoError(t, sb.SignalFriend(ctxT(t), ua.UserID, []byte("ping")))
	assert.Equal(t, []byte("ping"), sa.signal(t).Payload)

	require.NoError(t, sa.BlockUser(ctxT(t), ub.UserID))
	ev := sb.friendUpdate(t)
	assert.Equal(t, frame.FriendEventRemoved, ev.Event, "bob is told the friendship ended, not of the block")
	require.ErrorIs(t, sb.SignalFriend(ctxT(t), ua.UserID, []byte("ping")), netcode.CodeNoRelation)
	_, err := sb.SendDirect(ctxT(t), ua.UserID, "hello?")
	require.ErrorIs(t, err, netcode.CodeBlocked)
	require.NoError(t, sa.SetPresence(ctxT(t), frame.PresenceAway, "not for bob"))
	// A marker from node 0 after the presence: NATS delivers one
	// connection's messages in order, so once bob has it, node 1 has
	// handled alice's presence.
	g, err := sa.CreateGroup(ctxT(t), "marker", frame.GroupOpen)
	require.NoError(t, err)
	require.NoError(t, sa.InviteToGroup(ctxT(t), g.ID, ub.UserID))
	sb.take(t, frame.KindGroupUpdate, nil)
	sb.barrier(t)
	assert.Zero(t, sb.count(frame.KindPresenceUpdate, presenceOf(ua.UserID, frame.PresenceAway)), "no presence to a former friend")
}

// A ringing call whose callee had sessions only on a node that dies ends
// "disconnected" once the membership declares the node gone, not at the
// ring timeout (a minute here, so a timeout cannot pass for it).
func TestClusterCalleeNodeDiesEndsTheCall(t *testing.T) {
	dsn := pgtest.DB(t)
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(i int, cfg *server.Config) {
		cfg.StoreDSN = dsn
		cfg.Accounts = accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}}
		cfg.Transports = []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}}
		cfg.Social = social.Config{RingTimeout: time.Minute}
	}})
	n0, n1 := c.Node(0).Srv, c.Node(1).Srv
	ua, ub := register(t, n0, "alice"), register(t, n1, "bob")
	sa, sb := dial(t, n0, ua.Token), dial(t, n1, ub.Token)
	require.NoError(t, sa.RequestFriend(ctxT(t), ub.Name))
	assert.Equal(t, frame.FriendEventRequested, sb.friendUpdate(t).Event)
	require.NoError(t, sb.AcceptFriend(ctxT(t), ua.UserID))
	sa.take(t, frame.KindPresenceUpdate, presenceOf(ub.UserID, frame.PresenceOnline))

	ring, err := sa.Invite(ctxT(t), ub.UserID)
	require.NoError(t, err)
	sb.callUpdate(t, ring.CallID, frame.CallRinging)
	killed := time.Now()
	c.Kill(t, 1)
	u := sa.callUpdate(t, ring.CallID, frame.CallEnded)
	took := time.Since(killed)
	assert.Equal(t, frame.CallEndDisconnected, u.Reason)
	assert.Less(t, took, clustertest.DeathBound+time.Second, "within the death bound, not the ring timeout")
	assert.Equal(t, 0, n0.Social().Stats().Calls.Ringing)
}
