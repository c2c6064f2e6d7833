package rooms

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

func TestPerSecond(t *testing.T) {
	l := perSecond(10)
	now := t0
	for i := 0; i < 10; i++ {
		assert.True(t, l.AllowN(now, 1), "burst %d", i)
	}
	assert.False(t, l.AllowN(now, 1))
	now = now.Add(100 * time.Millisecond) // one token back
	assert.True(t, l.AllowN(now, 1))
	assert.False(t, l.AllowN(now, 1))
	now = now.Add(time.Hour) // refills to the burst, no more
	for i := 0; i < 10; i++ {
		assert.True(t, l.AllowN(now, 1))
	}
	assert.False(t, l.AllowN(now, 1))
	unlimited := perSecond(-1)
	for i := 0; i < 1000; i++ {
		assert.True(t, unlimited.AllowN(now, 1))
	}
}

// create sends RoomCreate (or RoomJoinOrCreate when label is not empty
// and matchmake) for p and runs the worker; it returns the room id or
// the refusal.
func (fx *fixture) create(p *fakePeer, f frame.Frame) (frame.RoomJoined, error) {
	fx.t.Helper()
	if err := fx.send(p, netcode.Reliable, f); err != nil {
		return frame.RoomJoined{}, err
	}
	fx.step()
	js := only(fx.t, p.take(), frame.KindRoomJoined)
	require.Len(fx.t, js, 1)
	return *decode[frame.RoomJoined](fx.t, js[0].b), nil
}

func (fx *fixture) leave(p *fakePeer, id uint64) {
	fx.t.Helper()
	require.NoError(fx.t, fx.send(p, netcode.Reliable, &frame.RoomLeave{Ref: 9, RoomID: id}))
	fx.step()
	p.take()
}

// TestClientRoomCreationLimits: a user's open client-created rooms are
// capped over all its sessions, empty or not, and so are the server's;
// refusals carry CodeRoomCreateLimit and are counted by reason; a room
// that closes gives its creator's slot back; rooms created through the Go
// API are not limited.
func TestClientRoomCreationLimits(t *testing.T) {
	const ttl = 5 * time.Second
	fx := newFixture(t, func(c *Config) {
		c.MaxRoomsCreatedPerUser = 3
		c.MaxRooms = 4
		c.EmptyRoomTTL = ttl
	})
	a, b, c := fx.peer(), fx.peer(), fx.peer()
	a2 := &fakePeer{id: 100, user: a.user} // a second session of a's user
	fx.h.PeerOpened(a2)

	var aRooms []uint64
	for i := 0; i < 3; i++ {
		j, err := fx.create(a, &frame.RoomCreate{Ref: 1, Type: room.RelayType})
		require.NoError(t, err)
		aRooms = append(aRooms, j.RoomID)
		fx.leave(a, j.RoomID) // empty rooms still count
	}
	_, err := fx.create(a, &frame.RoomCreate{Ref: 1, Type: room.RelayType})
	require.ErrorIs(t, err, ErrUserRoomLimit)
	assert.Equal(t, netcode.CodeRoomCreateLimit, netcode.CodeOf(err))
	_, err = fx.create(a, &frame.RoomJoinOrCreate{Ref: 1, Type: room.RelayType, Label: "new"})
	require.ErrorIs(t, err, ErrUserRoomLimit, "join-or-create that must create is limited too")
	_, err = fx.create(a2, &frame.RoomCreate{Ref: 1, Type: room.RelayType})
	require.ErrorIs(t, err, ErrUserRoomLimit, "counted per user, not per session")
	// Joining is not creating.
	_, err = fx.create(a2, &frame.RoomJoin{Ref: 1, RoomID: aRooms[0]})
	require.NoError(t, err)
	fx.leave(a2, aRooms[0])

	// The server-wide cap.
	_, err = fx.create(b, &frame.RoomCreate{Ref: 1, Type: room.RelayType})
	require.NoError(t, err)
	_, err = fx.create(c, &frame.RoomCreate{Ref: 1, Type: room.RelayType})
	require.ErrorIs(t, err, ErrServerRoomLimit)
	assert.Equal(t, netcode.CodeRoomCreateLimit, netcode.CodeOf(err))

	// The embedder's rooms are neither limited nor counted.
	_, err = fx.h.CreateRoom(room.Config{Type: room.RelayType})
	require.NoError(t, err)
	fx.step()

	st := fx.h.Stats()
	assert.Equal(t, 4, st.ClientRooms)
	assert.Equal(t, 5, st.Rooms)
	assert.Equal(t, uint64(3), st.Refused.UserLimit)
	assert.Equal(t, uint64(1), st.Refused.ServerLimit)

	// a's empty rooms close after the TTL; its slots come back.
	fx.advance(ttl - time.Second)
	assert.Equal(t, 4, fx.h.Stats().ClientRooms, "not before the TTL")
	fx.advance(time.Second)
	st = fx.h.Stats()
	assert.Equal(t, 1, st.ClientRooms)
	assert.Equal(t, uint64(3), st.Types[room.RelayType].Expired)
	_, err = fx.create(a2, &frame.RoomCreate{Ref: 1, Type: room.RelayType})
	require.NoError(t, err)
	_, err = fx.create(c, &frame.RoomCreate{Ref: 1, Type: room.RelayType})
	require.NoError(t, err)
	assert.Len(t, fx.h.created, 3, "one entry per creator with open rooms")
	fx.h.PeerClosed(a)
	fx.h.PeerClosed(a2)
	fx.step() // the leave: the room is empty from now
	fx.advance(ttl)
	assert.Len(t, fx.h.created, 2, "a creator without open rooms is forgotten")
}

// TestClientRoomCaps: a client asking for more than MaxClientTickRate or
// EmptyRoomTTL gets the cap (RoomJoined says so); the embedder does not.
func TestClientRoomCaps(t *testing.T) {
	const ttl = 2 * time.Second
	fx := newFixture(t, func(c *Config) {
		c.MaxClientTickRate = 20
		c.EmptyRoomTTL = ttl
		c.DefaultTickRate = 60
	})
	a := fx.peer()
	j, err := fx.create(a, &frame.RoomCreate{Ref: 1, Type: room.RelayType, TickRate: 100, EmptyTimeoutMs: 3_600_000})
	require.NoError(t, err)
	assert.Equal(t, uint8(20), j.TickRate, "capped")
	d, err := fx.create(a, &frame.RoomJoinOrCreate{Ref: 1, Type: room.RelayType, Label: "default"})
	require.NoError(t, err)
	assert.Equal(t, uint8(20), d.TickRate, "the default rate is capped too")
	low, err := fx.create(a, &frame.RoomCreate{Ref: 1, Type: room.RelayType, TickRate: 5, EmptyTimeoutMs: 500})
	require.NoError(t, err)
	assert.Equal(t, uint8(5), low.TickRate, "below the cap: as asked")

	id, err := fx.h.CreateRoom(room.Config{Type: room.RelayType, TickRate: 100, EmptyTimeout: 4 * time.Minute})
	require.NoError(t, err)
	fx.step()
	for _, r := range fx.h.ListRooms("", "", 0) {
		if r.RoomID == id {
			assert.Equal(t, uint8(100), r.TickRate, "the embedder's room keeps its rate")
		}
	}

	fx.leave(a, j.RoomID)
	fx.leave(a, d.RoomID)
	fx.leave(a, low.RoomID)
	fx.advance(500 * time.Millisecond)
	assert.Equal(t, 2, fx.h.Stats().ClientRooms, "a shorter timeout than the TTL is kept")
	fx.advance(ttl - 500*time.Millisecond)
	st := fx.h.Stats()
	assert.Zero(t, st.ClientRooms, "an hour asked, the TTL given")
	assert.Equal(t, 1, st.Rooms, "the embedder's room is still open")
	assert.Equal(t, uint64(1), st.Refused.TickRateCapped)
	assert.Equal(t, uint64(1), st.Refused.EmptyTTLCapped)
}

// TestRoomLabelsPassCleanText: labels of RoomCreate, RoomJoinOrCreate and
// RoomList go through frame.CleanText: bidi overrides and zero-width
// characters are refused with CodeBadText, and labels are matched in NFC.
func TestRoomLabelsPassCleanText(t *testing.T) {
	fx := newFixture(t, nil)
	a, b := fx.peer(), fx.peer()
	for name, f := range map[string]frame.Frame{
		"create U+202E":         &frame.RoomCreate{Ref: 1, Type: room.RelayType, Label: "eu\u202Eur"},
		"create U+200B":         &frame.RoomCreate{Ref: 1, Type: room.RelayType, Label: "eu\u200B"},
		"join-or-create U+202E": &frame.RoomJoinOrCreate{Ref: 1, Type: room.RelayType, Label: "\u202Eeu"},
		"join-or-create U+200B": &frame.RoomJoinOrCreate{Ref: 1, Type: room.RelayType, Label: "\u200B"},
		"list U+202E":           &frame.RoomList{Ref: 1, Label: "\u202E"},
	} {
		t.Run(name, func(t *testing.T) {
			err := fx.send(a, netcode.Reliable, f)
			assert.Equal(t, netcode.CodeBadText, netcode.CodeOf(err), "%v", err)
		})
	}
	assert.Equal(t, uint64(5), fx.h.Stats().Refused.BadLabel)
	assert.Zero(t, fx.h.Stats().Rooms)
	_, err := fx.h.CreateRoom(room.Config{Type: room.RelayType, Label: "x\u202E"})
	assert.Equal(t, netcode.CodeBadText, netcode.CodeOf(err), "the Go API too")

	// "é" decomposed and precomposed are one label.
	j, err := fx.create(a, &frame.RoomJoinOrCreate{Ref: 1, Type: room.RelayType, Label: "cafe\u0301"})
	require.NoError(t, err)
	k, err := fx.create(b, &frame.RoomJoinOrCreate{Ref: 1, Type: room.RelayType, Label: "caf\u00e9"})
	require.NoError(t, err)
	assert.Equal(t, j.RoomID, k.RoomID)
	assert.Len(t, fx.h.ListRooms(room.RelayType, "caf\u00e9", 0), 1)
}

func TestLimitConfigDefaults(t *testing.T) {
	var c Config
	require.NoError(t, c.populate())
	assert.Equal(t, DefaultMaxRoomsCreatedPerUser, c.MaxRoomsCreatedPerUser)
	assert.Equal(t, DefaultMaxRooms, c.MaxRooms)
	assert.Equal(t, DefaultMaxClientTickRate, c.MaxClientTickRate)
	assert.Equal(t, DefaultEmptyRoomTTL, c.EmptyRoomTTL)
	for name, bad := range map[string]Config{
		"per user":  {MaxRoomsCreatedPerUser: -1},
		"rooms":     {MaxRooms: -1},
		"tick rate": {MaxClientTickRate: room.MaxTickRate + 1},
		"ttl":       {EmptyRoomTTL: -time.Second},
	} {
		assert.ErrorIs(t, bad.populate(), ErrBadConfig, name)
	}
}
