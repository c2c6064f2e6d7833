package clustertest_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/cluster"
	"github.com/tickwire/tickwire/internal/clustertest"
	"github.com/tickwire/tickwire/internal/pgtest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/server"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitKnown waits until node i's directory lists room id under owner
// (or, with owner "", no longer lists it anywhere).
func waitKnown(t testing.TB, c *clustertest.Cluster, i int, owner string, id uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return known(c, i, id) == owner }, 10*time.Second, 2*time.Millisecond,
		"node %d: room %d owner %q", i, id, owner)
}

func known(c *clustertest.Cluster, i int, id uint64) string {
	for owner, rooms := range c.Node(i).Srv.ClusterDirectory().Remote() {
		if slices.ContainsFunc(rooms, func(e cluster.Entry) bool { return e.Room == id }) {
			return owner
		}
	}
	return ""
}

// members waits until node i's directory says room id has n members.
func waitMembers(t testing.TB, c *clustertest.Cluster, i int, owner string, id uint64, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, e := range c.Node(i).Srv.ClusterDirectory().Remote()[owner] {
			if e.Room == id {
				return e.Members == n
			}
		}
		return false
	}, 10*time.Second, 2*time.Millisecond)
}

// waitInput reads cl's pushes until room r's tick carries data.
func waitInput(t testing.TB, cl *client.Client, r *client.Room, data []byte) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-cl.Messages():
			require.True(t, ok, "client ended")
			u, isRoom, err := client.DecodeRoomUpdate(m)
			require.NoError(t, err)
			if !isRoom || !r.Owns(u) || u.Tick == nil {
				continue
			}
			for _, in := range u.Tick.Inputs {
				if bytes.Equal(in.Data, data) {
					return
				}
			}
		case <-deadline:
			t.Fatalf("input %q never arrived", data)
		}
	}
}

func relay(label string) client.RoomOptions {
	return client.RoomOptions{Type: "relay", Label: label, Capacity: 4, TickRate: 30}
}

// A join-or-create on node 1 finds the room node 0 owns: node 1 answers
// with a redirect, the Go SDK follows it, and inputs flow both ways
// between the member on node 0 and the redirected one.
func TestJoinOrCreateFollowsRedirect(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := ctxT(t)
	ann := c.Dial(t, 0, "ann")
	bob := c.Dial(t, 1, "bob")

	ra, err := ann.JoinOrCreateRoom(ctx, relay("eu"))
	require.NoError(t, err)
	assert.Same(t, ann, ra.Node(), "created on ann's own node")
	waitKnown(t, c, 1, "n0", ra.ID())

	rb, err := bob.JoinOrCreateRoom(ctx, relay("eu"))
	require.NoError(t, err)
	assert.Equal(t, ra.ID(), rb.ID(), "bob reached ann's room")
	assert.NotSame(t, bob, rb.Node(), "through a session on node 0")
	assert.Len(t, rb.Joined().Members, 2)

	_, err = ra.SendInput(netcode.Reliable, []byte("from-ann"))
	require.NoError(t, err)
	waitInput(t, bob, rb, []byte("from-ann"))
	_, err = rb.SendInput(netcode.Reliable, []byte("from-bob"))
	require.NoError(t, err)
	waitInput(t, ann, ra, []byte("from-bob"))

	assert.Equal(t, uint64(1), c.Node(1).Srv.ClusterDirectory().Stats().Redirects)
	assert.Equal(t, uint64(1), c.Node(0).Srv.ClusterDirectory().Stats().Tickets.Redeemed)
	// The owner published the second member; node 2 sees it.
	waitMembers(t, c, 2, "n0", ra.ID(), 2)
	require.NoError(t, rb.Leave(ctx))
	waitMembers(t, c, 2, "n0", ra.ID(), 1)
}

// A join by id of a private room on node 0, from node 2.
func TestJoinByIDFollowsRedirect(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := ctxT(t)
	ann := c.Dial(t, 0, "ann")
	cy := c.Dial(t, 2, "cy")
	ra, err := ann.CreateRoom(ctx, client.RoomOptions{Type: "relay", Label: "secret", Private: true})
	require.NoError(t, err)
	waitKnown(t, c, 2, "n0", ra.ID())

	// A private room is never a match elsewhere...
	rc, err := cy.JoinOrCreateRoom(ctx, relay("secret"))
	require.NoError(t, err)
	assert.NotEqual(t, ra.ID(), rc.ID())
	assert.Same(t, cy, rc.Node())
	// ...but joins by id.
	rj, err := cy.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)
	assert.Equal(t, ra.ID(), rj.ID())
	_, err = rj.SendInput(netcode.Reliable, []byte("hi"))
	require.NoError(t, err)
	waitInput(t, ann, ra, []byte("hi"))

	_, err = cy.JoinRoom(ctx, 12345)
	assert.ErrorIs(t, err, netcode.CodeRoomNotFound, "no node has it")

	// The owner's refusal of the ticket join reaches the caller.
	solo, err := ann.CreateRoom(ctx, client.RoomOptions{Type: "relay", Capacity: 1, Private: true})
	require.NoError(t, err)
	waitKnown(t, c, 2, "n0", solo.ID())
	_, err = cy.JoinRoom(ctx, solo.ID())
	assert.ErrorIs(t, err, netcode.CodeRoomFull)
}

// A node that dies has its rooms dropped from the others' directories:
// at once after a goodbye, within the death bound after a crash. A join
// by id then fails with room_not_found, and a join-or-create creates
// the room where the client is.
func TestDeadNodeRoomsGone(t *testing.T) {
	for name, kill := range map[string]func(*clustertest.Cluster, testing.TB, int){
		"shutdown": (*clustertest.Cluster).Stop,
		"crash":    (*clustertest.Cluster).Kill,
	} {
		t.Run(name, func(t *testing.T) {
			c := clustertest.Start(t, 3, clustertest.Options{})
			ctx := ctxT(t)
			ann := c.Dial(t, 0, "ann")
			bob := c.Dial(t, 1, "bob")
			ra, err := ann.JoinOrCreateRoom(ctx, relay("doomed"))
			require.NoError(t, err)
			waitKnown(t, c, 1, "n0", ra.ID())

			start := time.Now()
			kill(c, t, 0)
			waitKnown(t, c, 1, "", ra.ID())
			took := time.Since(start)
			t.Logf("%s: room gone from node 1 after %v (bound %v)", name, took, clustertest.DeathBound)
			assert.LessOrEqual(t, took, clustertest.DeathBound+200*time.Millisecond)
			assert.GreaterOrEqual(t, c.Node(1).Srv.ClusterDirectory().Stats().RoomsDropped+
				c.Node(1).Srv.ClusterDirectory().Stats().Applied, uint64(1))

			_, err = bob.JoinRoom(ctx, ra.ID())
			assert.ErrorIs(t, err, netcode.CodeRoomNotFound)
			rb, err := bob.JoinOrCreateRoom(ctx, relay("doomed"))
			require.NoError(t, err)
			assert.Same(t, bob, rb.Node(), "created on bob's node")
			assert.NotEqual(t, ra.ID(), rb.ID())
		})
	}
}

// A redirect to a node that died (node 1 has not noticed yet: slow
// heartbeats here) fails with node_gone when the SDK cannot reach it.
func TestRedirectToDeadNode(t *testing.T) {
	c := clustertest.Start(t, 2, clustertest.Options{Configure: func(i int, cfg *server.Config) {
		cfg.Cluster.Node.HeartbeatInterval = 5 * time.Second
	}})
	ctx := ctxT(t)
	ann := c.Dial(t, 0, "ann")
	ra, err := ann.JoinOrCreateRoom(ctx, relay("x"))
	require.NoError(t, err)
	waitKnown(t, c, 1, "n0", ra.ID())
	c.Kill(t, 0)
	require.Equal(t, "n0", known(c, 1, ra.ID()), "node 1 still lists the room")

	bob := c.Dial(t, 1, "bob")
	_, err = bob.JoinRoom(ctx, ra.ID())
	assert.ErrorIs(t, err, netcode.CodeNodeGone)
	_, err = bob.JoinOrCreateRoom(ctx, relay("x"))
	assert.ErrorIs(t, err, netcode.CodeNodeGone)
}

// Tickets: a forged, another user's, an expired and a reused one are
// refused with their codes, and counted.
func TestTicketRefusals(t *testing.T) {
	c := clustertest.Start(t, 2, clustertest.Options{Configure: func(i int, cfg *server.Config) {
		cfg.Cluster.TicketTTL = time.Second
	}})
	ctx := ctxT(t)
	ann := c.Dial(t, 0, "ann")
	ra, err := ann.JoinOrCreateRoom(ctx, relay("t"))
	require.NoError(t, err)
	waitKnown(t, c, 1, "n0", ra.ID())

	bobTok := c.Token(t, 1, "bob")
	onB := c.DialToken(t, 1, bobTok, client.Options{Redirect: client.RedirectOptions{MaxHops: -1}})
	redirect := func() frame.RoomRedirect {
		_, err := onB.JoinRoom(ctx, ra.ID())
		var re *client.RedirectError
		require.ErrorAs(t, err, &re)
		return re.Redirect
	}
	onA := c.DialToken(t, 0, bobTok, client.Options{}) // bob, straight to node 0
	join := func(tk []byte) error {
		_, err := onA.Call(ctx, &frame.RoomJoinTicket{RoomID: ra.ID(), Ticket: tk})
		return err
	}

	rd := redirect()
	assert.Equal(t, "n0", rd.NodeID)
	assert.Equal(t, c.Node(0).Srv.HTTPURL(), rd.URL)
	forged := bytes.Clone(rd.Ticket)
	forged[len(forged)-1] ^= 1
	assert.ErrorIs(t, join(forged), netcode.CodeBadTicket)
	annOnA := c.DialToken(t, 0, c.Token(t, 0, "ann2"), client.Options{})
	_, err = annOnA.Call(ctx, &frame.RoomJoinTicket{RoomID: ra.ID(), Ticket: rd.Ticket})
	assert.ErrorIs(t, err, netcode.CodeBadTicket, "bob's ticket, another user")

	require.NoError(t, join(rd.Ticket))
	_, err = onA.Call(ctx, &frame.RoomLeave{RoomID: ra.ID()})
	require.NoError(t, err)
	assert.ErrorIs(t, join(rd.Ticket), netcode.CodeTicketReused)

	late := redirect()
	tk, err := cluster.DecodeTicket(late.Ticket)
	require.NoError(t, err)
	<-time.After(time.Until(tk.Expiry)) // the ticket's own deadline, not a guess
	assert.ErrorIs(t, join(late.Ticket), netcode.CodeTicketExpired)

	st := c.Node(0).Srv.ClusterDirectory().Stats().Tickets
	st.Outstanding = 0 // the first ticket until a sweep forgets it
	assert.Equal(t, cluster.TicketStats{Redeemed: 1, RefusedBad: 2, RefusedExpired: 1, RefusedReused: 1}, st)
	assert.Equal(t, uint64(4), c.Node(0).Srv.Rooms().Stats().Refused.BadTicket)
}

// MaxRoomsCreatedPerUser counts a user's rooms on every node.
func TestRoomsPerUserLimitIsGlobal(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(i int, cfg *server.Config) {
		cfg.Rooms.MaxRoomsCreatedPerUser = 2
	}})
	ctx := ctxT(t)
	tok := c.Token(t, 0, "ann")
	on0 := c.DialToken(t, 0, tok, client.Options{})
	on1 := c.DialToken(t, 1, tok, client.Options{})
	on2 := c.DialToken(t, 2, tok, client.Options{})

	r1, err := on0.CreateRoom(ctx, relay("a"))
	require.NoError(t, err)
	r2, err := on1.CreateRoom(ctx, relay("b"))
	require.NoError(t, err)
	waitKnown(t, c, 2, "n0", r1.ID())
	waitKnown(t, c, 2, "n1", r2.ID())
	_, err = on2.CreateRoom(ctx, relay("c"))
	assert.ErrorIs(t, err, netcode.CodeRoomCreateLimit, "two rooms open elsewhere")
	assert.Equal(t, uint64(1), c.Node(2).Srv.Rooms().Stats().Refused.UserLimit)
	_, err = on0.CreateRoom(ctx, relay("c"))
	assert.ErrorIs(t, err, netcode.CodeRoomCreateLimit)

	// Another user is not limited by ann's rooms.
	_, err = c.Dial(t, 2, "bob").CreateRoom(ctx, relay("c"))
	require.NoError(t, err)

	// A room closing frees a slot, on every node.
	require.NoError(t, r1.Leave(ctx))
	require.NoError(t, c.Node(0).Srv.Rooms().CloseRoom(r1.ID(), netcode.CodeRoomClosed, "test"))
	waitKnown(t, c, 2, "", r1.ID())
	_, err = on2.CreateRoom(ctx, relay("c"))
	require.NoError(t, err)
}

// With NATS down, each node keeps its last view of the others (nobody
// is declared gone) and /readyz says cluster_unavailable. A stale view
// sends a client to a full room: the owner refuses the ticket join, the
// SDK matchmakes again there, and is redirected once more — within
// MaxHops, or refused with too_many_redirects past it.
func TestHopBoundAndNATSDown(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := ctxT(t)
	opts := func(label string, capacity int) client.RoomOptions {
		return client.RoomOptions{Type: "relay", Label: label, Capacity: capacity}
	}
	// R on node 0: 1 of 2 seats. S on node 2: 2 of 4 seats.
	ann := c.Dial(t, 0, "ann")
	r, err := ann.JoinOrCreateRoom(ctx, opts("hop", 2))
	require.NoError(t, err)
	dan := c.Dial(t, 2, "dan")
	s, err := dan.CreateRoom(ctx, opts("hop", 4))
	require.NoError(t, err)
	_, err = c.Dial(t, 2, "eve").JoinRoom(ctx, s.ID())
	require.NoError(t, err)
	for _, i := range []int{0, 1} {
		waitMembers(t, c, i, "n2", s.ID(), 2)
	}
	waitMembers(t, c, 1, "n0", r.ID(), 1)

	c.NATS.Stop()
	for _, n := range c.Running() {
		require.Eventually(t, func() bool { return !n.Srv.ClusterNode().Connected() }, 5*time.Second, 5*time.Millisecond)
		resp, err := http.Get(n.Srv.HTTPURL() + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	}
	// R fills up; nobody else hears of it.
	_, err = c.Dial(t, 0, "cy").JoinRoom(ctx, r.ID())
	require.NoError(t, err)

	// One hop allowed: node 1 → R on node 0 (full) → matchmaking again
	// on node 0 redirects to S: a second hop, refused.
	bob := c.DialToken(t, 1, c.Token(t, 1, "bob"), client.Options{Redirect: client.RedirectOptions{MaxHops: 1}})
	_, err = bob.JoinOrCreateRoom(ctx, opts("hop", 2))
	assert.ErrorIs(t, err, netcode.CodeTooManyRedirects)
	// The default bound (2) gets there.
	fay := c.DialToken(t, 1, c.Token(t, 1, "fay"), client.Options{})
	rf, err := fay.JoinOrCreateRoom(ctx, opts("hop", 2))
	require.NoError(t, err)
	assert.Equal(t, s.ID(), rf.ID())

	// A room nobody here has heard of: the node cannot say.
	_, err = fay.JoinRoom(ctx, 777)
	assert.ErrorIs(t, err, netcode.CodeClusterUnavailable)
	assert.Len(t, c.Node(1).Srv.ClusterNode().Live(), 2, "nobody declared gone while NATS was down")

	c.NATS.Start()
	for _, n := range c.Running() {
		require.Eventually(t, func() bool {
			resp, err := http.Get(n.Srv.HTTPURL() + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 10*time.Second, 10*time.Millisecond)
	}
	// The directories catch up: R's second member.
	waitMembers(t, c, 1, "n0", r.ID(), 2)
	_, err = fay.JoinRoom(ctx, 777)
	assert.ErrorIs(t, err, netcode.CodeRoomNotFound)
}

// On the shared PostgreSQL store: three nodes, no token key given (the
// nodes share the one kept in the database), accounts registered on one
// node log in on another, and a redirect is followed by a registered
// user: the ticket signed by node 1 is checked by node 0 with the key
// both read from the database.
func TestRedirectOnPostgres(t *testing.T) {
	dsn := pgtest.DB(t)
	c := clustertest.Start(t, 3, clustertest.Options{NoSharedKey: true, Configure: func(i int, cfg *server.Config) {
		cfg.StoreDSN = dsn
		cfg.Accounts = accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}}
	}})
	ctx := ctxT(t)
	ann, err := client.Register(ctx, c.Node(0).Srv.HTTPURL(), "ann", "correct horse battery")
	require.NoError(t, err)
	_, err = client.Register(ctx, c.Node(2).Srv.HTTPURL(), "bob", "correct horse battery")
	require.NoError(t, err)
	bob, err := client.Login(ctx, c.Node(1).Srv.HTTPURL(), "bob", "correct horse battery")
	require.NoError(t, err, "registered on node 2, logged in on node 1")

	onA := c.DialToken(t, 0, ann.Token, client.Options{})
	onB := c.DialToken(t, 1, bob.Token, client.Options{})
	ra, err := onA.JoinOrCreateRoom(ctx, relay("pg"))
	require.NoError(t, err)
	waitKnown(t, c, 1, "n0", ra.ID())
	rb, err := onB.JoinOrCreateRoom(ctx, relay("pg"))
	require.NoError(t, err)
	assert.Equal(t, ra.ID(), rb.ID())
	_, err = rb.SendInput(netcode.Reliable, []byte("pg"))
	require.NoError(t, err)
	waitInput(t, onA, ra, []byte("pg"))
}

// nextClosed reads cl's pushes until a RoomClosed for room id.
func nextClosed(t testing.TB, cl *client.Client, id uint64) *frame.RoomClosed {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-cl.Messages():
			require.True(t, ok, "client ended")
			u, isRoom, err := client.DecodeRoomUpdate(m)
			require.NoError(t, err)
			if isRoom && u.Closed != nil && u.RoomID == id {
				return u.Closed
			}
		case <-deadline:
			t.Fatalf("no RoomClosed for room %d", id)
			return nil
		}
	}
}

// A room joined through a redirect lives on the node session: when that
// session ends (its node vanished, or shut down), the caller is told
// RoomClosed for each room it held there, once: node_gone, or the code
// the node closed the session with.
func TestNodeSessionEndClosesItsRooms(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := ctxT(t)
	ann := c.Dial(t, 0, "ann")
	ra, err := ann.JoinOrCreateRoom(ctx, relay("a"))
	require.NoError(t, err)
	cy := c.Dial(t, 2, "cy")
	rc, err := cy.JoinOrCreateRoom(ctx, relay("c"))
	require.NoError(t, err)
	waitKnown(t, c, 1, "n0", ra.ID())
	waitKnown(t, c, 1, "n2", rc.ID())

	bob := c.Dial(t, 1, "bob")
	rb, err := bob.JoinOrCreateRoom(ctx, relay("a"))
	require.NoError(t, err)
	rbc, err := bob.JoinOrCreateRoom(ctx, relay("c"))
	require.NoError(t, err)
	require.NotSame(t, rb.Node(), rbc.Node())

	require.NoError(t, rb.Node().Close()) // the session on node 0 is gone
	closed := nextClosed(t, bob, ra.ID())
	assert.Equal(t, netcode.CodeNodeGone, closed.Code)

	c.Stop(t, 2)
	closed = nextClosed(t, bob, rc.ID())
	assert.Equal(t, netcode.CodeServerShutdown, closed.Code, "the node's own close code")
	select {
	case m := <-bob.Messages():
		u, isRoom, _ := client.DecodeRoomUpdate(m)
		assert.False(t, isRoom && u.Closed != nil, "one RoomClosed per room: %+v", u.Closed)
	case <-time.After(200 * time.Millisecond):
	}
}

// RoomList on node 2 lists its own public rooms, then those of nodes 0
// and 1 from its directory (type and label filtered, private ones never,
// full ones too as on one node), in a fixed order within the limit; a
// killed node's rooms leave the list within the death bound; a listed
// room of node 1 joins by id through a redirect.
func TestRoomListAcrossNodes(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := ctxT(t)
	ann := c.Dial(t, 0, "ann")
	bob := c.Dial(t, 1, "bob")
	cy := c.Dial(t, 2, "cy")
	create := func(cl *client.Client, o client.RoomOptions) uint64 {
		t.Helper()
		r, err := cl.CreateRoom(ctx, o)
		require.NoError(t, err)
		return r.ID()
	}
	a1 := create(ann, relay("eu"))
	secret := client.RoomOptions{Type: "relay", Label: "eu", Capacity: 4, TickRate: 30, Private: true}
	aPriv := create(ann, secret)
	aUS := create(ann, relay("us"))
	b1 := create(bob, client.RoomOptions{Type: "relay", Label: "eu", Capacity: 4, TickRate: 20})
	bFull := create(bob, client.RoomOptions{Type: "relay", Label: "eu", Capacity: 1, TickRate: 10})
	c1 := create(cy, relay("eu"))
	for _, id := range []uint64{a1, aPriv, aUS} {
		waitKnown(t, c, 2, "n0", id)
	}
	waitKnown(t, c, 2, "n1", b1)
	waitKnown(t, c, 2, "n1", bFull)

	ids := func(list []frame.RoomInfo) []uint64 {
		out := []uint64{}
		for _, r := range list {
			out = append(out, r.RoomID)
		}
		return out
	}
	remote := []uint64{a1, b1, bFull}
	slices.Sort(remote)
	list, err := cy.ListRooms(ctx, "relay", "eu", 0)
	require.NoError(t, err)
	assert.Equal(t, append([]uint64{c1}, remote...), ids(list), "own rooms first, then the others' by id; no private room, no other label")
	for _, r := range list {
		switch r.RoomID {
		case b1:
			assert.Equal(t, frame.RoomInfo{RoomID: b1, Type: "relay", Label: "eu", Members: 1, Capacity: 4, TickRate: 20}, r)
		case bFull:
			assert.Equal(t, frame.RoomInfo{RoomID: bFull, Type: "relay", Label: "eu", Members: 1, Capacity: 1, TickRate: 10}, r)
		}
	}
	list, err = cy.ListRooms(ctx, "relay", "eu", 2)
	require.NoError(t, err)
	assert.Equal(t, []uint64{c1, remote[0]}, ids(list), "the limit covers both parts")
	list, err = cy.ListRooms(ctx, "relay", "us", 0)
	require.NoError(t, err)
	assert.Equal(t, []uint64{aUS}, ids(list))
	list, err = cy.ListRooms(ctx, "", "", 0)
	require.NoError(t, err)
	assert.NotContains(t, ids(list), aPriv)
	assert.Len(t, list, 5)

	start := time.Now()
	c.Kill(t, 0)
	require.Eventually(t, func() bool {
		list, err := cy.ListRooms(ctx, "", "", 0)
		return err == nil && !slices.Contains(ids(list), a1) && !slices.Contains(ids(list), aUS)
	}, 10*time.Second, 2*time.Millisecond)
	took := time.Since(start)
	t.Logf("node 0's rooms left node 2's list after %v (bound %v)", took, clustertest.DeathBound)
	assert.LessOrEqual(t, took, clustertest.DeathBound+200*time.Millisecond)
	list, err = cy.ListRooms(ctx, "relay", "eu", 0)
	require.NoError(t, err)
	rest := []uint64{b1, bFull}
	slices.Sort(rest)
	assert.Equal(t, append([]uint64{c1}, rest...), ids(list))

	rj, err := cy.JoinRoom(ctx, b1)
	require.NoError(t, err)
	assert.Equal(t, b1, rj.ID())
	assert.NotSame(t, cy, rj.Node(), "through a session on node 1")
	assert.Len(t, rj.Joined().Members, 2)
	waitMembers(t, c, 2, "n1", b1, 2)
	list, err = cy.ListRooms(ctx, "relay", "eu", 0)
	require.NoError(t, err)
	i := slices.Index(ids(list), b1)
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, uint16(2), list[i].Members)
	assert.GreaterOrEqual(t, c.Node(2).Srv.ClusterDirectory().Stats().Lists, uint64(5))
}
