package cluster

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/internal/natstest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

func startDir(t *testing.T, url, id string) (*Node, *Directory) {
	t.Helper()
	n, err := Start(Config{NodeID: id, URLs: []string{url}, Advertise: "http://" + id + ".test:7780",
		HeartbeatInterval: 100 * time.Millisecond, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond})
	require.NoError(t, err)
	d, err := NewDirectory(n, DirectoryConfig{TokenKey: testKey})
	require.NoError(t, err)
	t.Cleanup(func() {
		d.Close()
		_ = n.Close(context.Background())
	})
	return n, d
}

func remoteCount(d *Directory, owner string) int { return len(d.Remote()[owner]) }

// A node that joins late gets the rooms of the others by a paged
// snapshot; later changes arrive as events.
func TestDirectorySnapshotPages(t *testing.T) {
	ns := natstest.Start(t)
	_, a := startDir(t, ns.URL(), "a")
	const rooms = 3*dirBatch + 17
	for i := range rooms {
		a.Publish(uint64(i+1), frame.RoomInfo{Type: "relay", Label: "eu", Members: 1, Capacity: 4}, false, "u")
	}
	// b starts after a has published at least one event, so b has missed
	// the start of a's sequence and must fetch a snapshot (started
	// earlier, b could take every room from the events themselves).
	require.Eventually(t, func() bool { return a.Stats().Published >= 1 }, 10*time.Second, time.Millisecond)
	_, b := startDir(t, ns.URL(), "b")
	require.Eventually(t, func() bool { return remoteCount(b, "a") == rooms }, 10*time.Second, 5*time.Millisecond)
	assert.GreaterOrEqual(t, b.Stats().Syncs, uint64(1))
	assert.Equal(t, rooms, b.CreatedElsewhere("u"))

	a.Unpublish(1)
	a.Publish(2, frame.RoomInfo{Type: "relay", Label: "eu", Members: 4, Capacity: 4}, false, "u")
	require.Eventually(t, func() bool { return remoteCount(b, "a") == rooms-1 }, 5*time.Second, 5*time.Millisecond)
	assert.False(t, b.Known(1))
	require.Eventually(t, func() bool {
		r, err := b.RedirectMatch("v", "relay", "eu", nil)
		return err == nil && r != nil && r.RoomID == 3 // 2 is full now; the emptiest, lowest id
	}, 5*time.Second, 5*time.Millisecond)

	r, err := b.RedirectByID("v", 5)
	require.NoError(t, err)
	assert.Equal(t, "a", r.NodeID)
	assert.Equal(t, "http://a.test:7780", r.URL)
	require.NoError(t, a.Redeem("v", 5, r.Ticket), "the owner redeems what another node issued")
	_, err = b.RedirectByID("v", 1)
	assert.ErrorIs(t, err, netcode.CodeRoomNotFound)
}

// A gap in a node's event sequence (here a forged event that skips
// ahead) makes the others fetch a snapshot: the replica ends equal to
// the owner's rooms, the forged room gone.
func TestDirectoryGapResyncs(t *testing.T) {
	ns := natstest.Start(t)
	an, a := startDir(t, ns.URL(), "a")
	_, b := startDir(t, ns.URL(), "b")
	require.Eventually(t, func() bool { _, ok := b.node.Lookup("a"); return ok }, 5*time.Second, 5*time.Millisecond)
	a.Publish(10, frame.RoomInfo{Type: "relay", Capacity: 4}, false, "")
	require.Eventually(t, func() bool { return b.Known(10) }, 5*time.Second, 5*time.Millisecond)

	ev := dirEvent{Node: "a", Boot: an.boot, Seq: an.dirSeq.Load() + 5, Set: []Entry{{Room: 99, Type: "relay", Capacity: 4}}}
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NoError(t, an.Conn().Publish(an.subject("dir.ev.a"), raw))
	require.Eventually(t, func() bool { return b.Stats().Gaps == 1 && b.Stats().Syncs >= 1 && !b.Known(99) && b.Known(10) },
		5*time.Second, 5*time.Millisecond)

	// Garbage on the subjects is counted, not applied.
	require.NoError(t, an.Conn().Publish(an.subject("dir.ev.a"), []byte("{")))
	require.Eventually(t, func() bool { return b.Stats().BadPayloads >= 1 }, 5*time.Second, 5*time.Millisecond)
}

// A dead node's rooms leave the replica, counted.
func TestDirectoryDropsDeadNode(t *testing.T) {
	ns := natstest.Start(t)
	an, a := startDir(t, ns.URL(), "a")
	_, b := startDir(t, ns.URL(), "b")
	a.Publish(10, frame.RoomInfo{Type: "relay", Capacity: 4}, false, "u")
	require.Eventually(t, func() bool { return b.Known(10) }, 5*time.Second, 5*time.Millisecond)
	an.Abort()
	require.Eventually(t, func() bool { return !b.Known(10) }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, uint64(1), b.Stats().RoomsDropped)
	assert.Equal(t, 0, b.CreatedElsewhere("u"))
}

// ListRooms lists the other nodes' public rooms of a type and label, full
// ones too, with their tick rate, in room id order, at most limit.
func TestDirectoryListRooms(t *testing.T) {
	ns := natstest.Start(t)
	_, a := startDir(t, ns.URL(), "a")
	_, c := startDir(t, ns.URL(), "c")
	_, b := startDir(t, ns.URL(), "b")
	a.Publish(30, frame.RoomInfo{Type: "relay", Label: "eu", Members: 4, Capacity: 4, TickRate: 20}, false, "")
	a.Publish(10, frame.RoomInfo{Type: "relay", Label: "eu", Members: 1, Capacity: 4, TickRate: 30}, false, "")
	a.Publish(11, frame.RoomInfo{Type: "relay", Label: "eu", Capacity: 4}, true, "") // private
	a.Publish(12, frame.RoomInfo{Type: "relay", Label: "us", Capacity: 4}, false, "")
	c.Publish(20, frame.RoomInfo{Type: "relay", Label: "eu", Capacity: 8, TickRate: 60}, false, "")
	c.Publish(21, frame.RoomInfo{Type: "chess", Label: "eu", Capacity: 2}, false, "")
	b.Publish(5, frame.RoomInfo{Type: "relay", Label: "eu", Capacity: 4}, false, "") // its own: not listed by it
	require.Eventually(t, func() bool { return remoteCount(b, "a") == 4 && remoteCount(b, "c") == 2 }, 10*time.Second, 5*time.Millisecond)

	ids := func(list []frame.RoomInfo) []uint64 {
		out := []uint64{}
		for _, r := range list {
			out = append(out, r.RoomID)
		}
		return out
	}
	eu := b.ListRooms("relay", "eu", 10)
	assert.Equal(t, []uint64{10, 20, 30}, ids(eu))
	assert.Equal(t, frame.RoomInfo{RoomID: 10, Type: "relay", Label: "eu", Members: 1, Capacity: 4, TickRate: 30}, eu[0])
	assert.Equal(t, []uint64{10, 20}, ids(b.ListRooms("relay", "eu", 2)), "the lowest ids within limit")
	assert.Equal(t, []uint64{10}, ids(b.ListRooms("relay", "eu", 0)), "at least one")
	assert.Equal(t, []uint64{10, 12, 20, 30}, ids(b.ListRooms("relay", "", 10)))
	assert.Equal(t, []uint64{10, 20, 21, 30}, ids(b.ListRooms("", "eu", 10)))
	assert.Equal(t, []uint64{10, 12, 20, 21, 30}, ids(b.ListRooms("", "", 10)))
	assert.Equal(t, []uint64{10, 12, 20}, ids(b.ListRooms("", "", 3)))
	assert.Empty(t, b.ListRooms("chess", "us", 10))
	assert.Equal(t, uint64(8), b.Stats().Lists)
}

// A wide list (no label) walks every public room of its type, so its
// answer is reused for wideTTL: a room published meanwhile shows after
// the TTL, a list with another type (or none) walks on its own, a type no
// node has is answered empty without keeping anything, and a node that
// leaves takes its rooms out of the reused answers at once.
func TestDirectoryWideListReused(t *testing.T) {
	ns := natstest.Start(t)
	an, a := startDir(t, ns.URL(), "a")
	var now atomic.Int64 // b's clock, moved by hand
	now.Store(time.Now().UnixNano())
	bn, err := Start(Config{NodeID: "b", URLs: []string{ns.URL()}, Advertise: "http://b.test:7780",
		HeartbeatInterval: 100 * time.Millisecond, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
		Clock: func() time.Time { return time.Unix(0, now.Load()) }})
	require.NoError(t, err)
	b, err := NewDirectory(bn, DirectoryConfig{TokenKey: testKey})
	require.NoError(t, err)
	t.Cleanup(func() {
		b.Close()
		_ = bn.Close(context.Background())
	})
	ids := func(list []frame.RoomInfo) []uint64 {
		out := []uint64{}
		for _, r := range list {
			out = append(out, r.RoomID)
		}
		return out
	}
	a.Publish(10, frame.RoomInfo{Type: "relay", Label: "eu", Capacity: 4}, false, "")
	a.Publish(12, frame.RoomInfo{Type: "relay", Label: "us", Capacity: 4}, false, "")
	require.Eventually(t, func() bool { return b.Known(10) && b.Known(12) }, 10*time.Second, 5*time.Millisecond)

	assert.Equal(t, []uint64{10, 12}, ids(b.ListRooms("relay", "", 10)))
	a.Publish(14, frame.RoomInfo{Type: "relay", Label: "eu", Capacity: 4}, false, "")
	require.Eventually(t, func() bool { return b.Known(14) }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, []uint64{10, 12}, ids(b.ListRooms("relay", "", 10)), "reused within wideTTL")
	assert.Equal(t, []uint64{10}, ids(b.ListRooms("relay", "", 1)), "a reused answer covers a smaller limit")
	assert.Equal(t, []uint64{10, 14}, ids(b.ListRooms("relay", "eu", 10)), "a list with a label walks its own index")
	assert.Equal(t, []uint64{10, 12, 14}, ids(b.ListRooms("", "", 10)), "another type is another answer")
	assert.Equal(t, uint64(2), b.Stats().ListsReused)

	now.Add(int64(wideTTL))
	assert.Equal(t, []uint64{10, 12, 14}, ids(b.ListRooms("relay", "", 10)), "walked again after wideTTL")

	assert.Empty(t, b.ListRooms("no-such-type", "", 10))
	b.mu.Lock()
	_, kept := b.wide["no-such-type"]
	b.mu.Unlock()
	assert.False(t, kept, "a type without rooms is not kept: the answers kept are bounded by the types")

	// A relay room on c outlives a; fresh answers list a's rooms and c's.
	_, c := startDir(t, ns.URL(), "c")
	c.Publish(20, frame.RoomInfo{Type: "relay", Label: "eu", Capacity: 4}, false, "")
	require.Eventually(t, func() bool { return b.Known(20) }, 10*time.Second, 5*time.Millisecond)
	now.Add(int64(wideTTL))
	assert.Equal(t, []uint64{10, 12, 14, 20}, ids(b.ListRooms("relay", "", 10)))
	assert.Equal(t, []uint64{10, 12, 14, 20}, ids(b.ListRooms("", "", 10)))

	require.NoError(t, an.Close(context.Background())) // a says goodbye: its rooms leave b at once
	require.Eventually(t, func() bool { return !b.Known(10) }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, []uint64{20}, ids(b.ListRooms("relay", "", 10)), "no reused answer lists a gone node's rooms")
	assert.Equal(t, []uint64{20}, ids(b.ListRooms("", "", 10)))
}
