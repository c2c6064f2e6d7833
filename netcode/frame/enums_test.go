package frame

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/netcode"
)

type wireEnum interface {
	~uint8
	fmt.Stringer
	Valid() bool
	MarshalText() ([]byte, error)
}

// checkEnum checks every one of the 256 numbers of an enum: the defined
// ones against their pinned names (the HTTP API, tickctl and
// docs/PROTOCOL.md show these: a rename is a visible change), round trips
// through Parse, MarshalText and UnmarshalText; the others are invalid
// and have no name. Unknown names are refused with a coded error.
func checkEnum[T wireEnum, PT interface {
	*T
	UnmarshalText([]byte) error
}](t *testing.T, want map[T]string, parse func(string) (T, error)) {
	t.Helper()
	for i := range 256 {
		v := T(i)
		name, defined := want[v]
		assert.Equal(t, defined, v.Valid(), "Valid(%d)", i)
		if !defined {
			assert.Equal(t, fmt.Sprintf("unknown_%d", i), v.String())
			_, err := v.MarshalText()
			assert.Error(t, err, "MarshalText(%d)", i)
			continue
		}
		assert.Equal(t, name, v.String(), "String(%d)", i)
		got, err := parse(name)
		require.NoError(t, err, name)
		assert.Equal(t, v, got, name)

		b, err := json.Marshal(v)
		require.NoError(t, err)
		assert.JSONEq(t, `"`+name+`"`, string(b))
		var back T
		require.NoError(t, json.Unmarshal(b, PT(&back)))
		assert.Equal(t, v, back)
	}
	for _, bad := range []string{"", "unknown_0", "bogus", "ONLINE", " joined", "friend "} {
		if _, known := findName(want, bad); known {
			continue
		}
		_, err := parse(bad)
		require.Error(t, err, "%q", bad)
		assert.Equal(t, netcode.CodeBadRequest, netcode.CodeOf(err), "%q", bad)
		var back T
		assert.Error(t, PT(&back).UnmarshalText([]byte(bad)), "%q", bad)
	}
}

func findName[T comparable](m map[T]string, name string) (T, bool) {
	for v, n := range m {
		if n == name {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func TestEnumNames(t *testing.T) {
	t.Run("presence", func(t *testing.T) {
		checkEnum(t, map[Presence]string{
			PresenceOffline: "offline", PresenceOnline: "online", PresenceAway: "away",
		}, ParsePresence)
	})
	t.Run("role", func(t *testing.T) {
		checkEnum(t, map[Role]string{
			RoleInvited: "invited", RoleMember: "member", RoleAdmin: "admin", RoleOwner: "owner",
		}, ParseRole)
	})
	t.Run("friend_state", func(t *testing.T) {
		checkEnum(t, map[FriendState]string{
			FriendNone: "none", FriendIncoming: "incoming", FriendOutgoing: "outgoing",
			FriendAccepted: "friend", FriendBlocked: "blocked",
		}, ParseFriendState)
	})
	t.Run("friend_event", func(t *testing.T) {
		checkEnum(t, map[FriendEvent]string{
			FriendEventRequested: "requested", FriendEventAccepted: "accepted", FriendEventDeclined: "declined",
			FriendEventRemoved: "removed", FriendEventBlocked: "blocked", FriendEventUnblocked: "unblocked",
		}, ParseFriendEvent)
	})
	t.Run("group_event", func(t *testing.T) {
		checkEnum(t, map[GroupEvent]string{
			GroupEventJoined: "joined", GroupEventLeft: "left", GroupEventRemoved: "removed",
			GroupEventInvited: "invited", GroupEventRoleChanged: "role_changed", GroupEventDeclined: "declined",
		}, ParseGroupEvent)
	})
	t.Run("room_event", func(t *testing.T) {
		checkEnum(t, map[RoomEventType]string{
			RoomEventJoined: "joined", RoomEventLeft: "left",
			RoomEventAway: "away", RoomEventBack: "back",
		}, ParseRoomEventType)
	})
}

// The numbers are wire ABI (docs/PROTOCOL.md): pin them.
func TestEnumNumbers(t *testing.T) {
	assert.Equal(t, []uint8{0, 1, 2}, []uint8{uint8(PresenceOffline), uint8(PresenceOnline), uint8(PresenceAway)})
	assert.Equal(t, []uint8{0, 1, 2, 3}, []uint8{uint8(RoleInvited), uint8(RoleMember), uint8(RoleAdmin), uint8(RoleOwner)})
	assert.Equal(t, []uint8{0, 1, 2, 3, 4}, []uint8{uint8(FriendNone), uint8(FriendIncoming), uint8(FriendOutgoing), uint8(FriendAccepted), uint8(FriendBlocked)})
	assert.Equal(t, []uint8{1, 2, 3, 4, 5, 6}, []uint8{uint8(FriendEventRequested), uint8(FriendEventAccepted), uint8(FriendEventDeclined),
		uint8(FriendEventRemoved), uint8(FriendEventBlocked), uint8(FriendEventUnblocked)})
	assert.Equal(t, []uint8{1, 2, 3, 4, 5, 6}, []uint8{uint8(GroupEventJoined), uint8(GroupEventLeft), uint8(GroupEventRemoved),
		uint8(GroupEventInvited), uint8(GroupEventRoleChanged), uint8(GroupEventDeclined)})
	assert.Equal(t, []uint8{1, 2, 3, 4}, []uint8{uint8(RoomEventJoined), uint8(RoomEventLeft), uint8(RoomEventAway), uint8(RoomEventBack)})
}

// rawRoomEvent encodes a RoomEvent whose event field is any integer,
// including ones that do not fit in a uint8.
type rawRoomEvent struct{ event uint64 }

func (*rawRoomEvent) Kind() Kind                           { return KindRoomEvent }
func (*rawRoomEvent) DecodeMsgpack(*msgpack.Decoder) error { return nil }
func (m *rawRoomEvent) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindRoomEvent, 6)
	w.Uint(0)
	w.Uint(1)
	w.Uint(m.event)
	w.Uint(2)
	w.String("u-1")
	w.String("Ada")
	return w.Err()
}

// Every enum field refuses a number with no meaning as a bad frame,
// however deep in the frame it sits. (Encoders write whatever they are
// given, which is how these frames are made.)
func TestDecodeRefusesUndefinedEnum(t *testing.T) {
	cases := map[string]Frame{
		"friend_update_event_0":  &FriendUpdate{Event: 0, Friend: Friend{UserID: "u-2"}},
		"friend_update_event_7":  &FriendUpdate{Event: 7, Friend: Friend{UserID: "u-2"}},
		"friend_update_state":    &FriendUpdate{Event: FriendEventAccepted, Friend: Friend{UserID: "u-2", State: 5}},
		"friend_list_presence":   &FriendListResult{Friends: []Friend{{UserID: "u-2", State: FriendAccepted, Presence: 3}}},
		"group_set_role":         &GroupSetRole{Ref: 1, GroupID: 7, UserID: "u-2", Role: 4},
		"group_result_role":      &GroupResult{Ref: 1, Group: Group{ID: 7, Role: 255}},
		"group_list_role":        &GroupListResult{Ref: 1, Groups: []Group{{ID: 7, Role: RoleOwner}, {ID: 8, Role: 4}}},
		"group_members_role":     &GroupMembersResult{Ref: 1, GroupID: 7, Members: []Member{{UserID: "u-1", Role: 4}}},
		"group_members_presence": &GroupMembersResult{Ref: 1, GroupID: 7, Members: []Member{{UserID: "u-1", Role: RoleMember, Presence: 3}}},
		"group_update_event":     &GroupUpdate{Event: 7, GroupID: 7},
		"group_update_event_0":   &GroupUpdate{Event: 0, GroupID: 7},
		"group_update_role":      &GroupUpdate{Event: GroupEventRoleChanged, GroupID: 7, Role: 4},
		"set_presence":           &SetPresence{Ref: 1, Presence: 3},
		"presence_update":        &PresenceUpdate{UserID: "u-1", Presence: 200},
		"room_event_0":           &RoomEvent{RoomID: 1, Event: 0, Member: 2},
		"room_event_5":           &RoomEvent{RoomID: 1, Event: 5, Member: 2},
		"room_event_300":         &rawRoomEvent{event: 300},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(f)
			require.NoError(t, err)
			into := NewSocialFrame(f.Kind())
			if into == nil {
				into = &RoomEvent{}
			}
			err = Unmarshal(b, into)
			require.Error(t, err)
			assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(err), "%v", err)
		})
	}
}
