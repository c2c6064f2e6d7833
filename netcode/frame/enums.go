package frame

import (
	"strconv"

	"github.com/tickwire/tickwire/netcode"
)

// The wire enums: each is a uint8 on the wire (docs/PROTOCOL.md lists the
// numbers) and has one stable snake_case name, the one the HTTP JSON API
// and tickctl show. Names and numbers are ABI: never change one, only
// append. Every type has String, Parse<Type>, Valid, and MarshalText /
// UnmarshalText so that JSON shows the name. Decoders refuse a number
// that is not Valid with CodeBadFrame.

// Presence is a user's presence as friends see it.
type Presence uint8

// Presence values.
const (
	PresenceOffline Presence = 0 // offline
	PresenceOnline  Presence = 1 // online
	PresenceAway    Presence = 2 // away
)

// Role is a member's role in a group. RoleInvited appears only in
// GroupList results: a pending invitation.
type Role uint8

// Group roles.
const (
	RoleInvited Role = 0 // invited
	RoleMember  Role = 1 // member
	RoleAdmin   Role = 2 // admin
	RoleOwner   Role = 3 // owner
)

// FriendState is a friend relation as seen from the receiving user.
type FriendState uint8

// Friend relation states.
const (
	FriendNone     FriendState = 0 // none: no relation (after decline, remove)
	FriendIncoming FriendState = 1 // incoming: they asked me
	FriendOutgoing FriendState = 2 // outgoing: I asked them
	FriendAccepted FriendState = 3 // friend: friends
	FriendBlocked  FriendState = 4 // blocked: I blocked them
)

// FriendEvent says what changed in a FriendUpdate.
type FriendEvent uint8

// FriendUpdate events.
const (
	FriendEventRequested FriendEvent = 1 // requested: a request was sent (to or by the receiver)
	FriendEventAccepted  FriendEvent = 2 // accepted: the request was accepted, now friends
	FriendEventDeclined  FriendEvent = 3 // declined: the request was declined (or cancelled)
	FriendEventRemoved   FriendEvent = 4 // removed: the friendship was removed
	FriendEventBlocked   FriendEvent = 5 // blocked: the receiver blocked the user
	FriendEventUnblocked FriendEvent = 6 // unblocked: the receiver unblocked the user
)

// GroupEvent says what changed in a GroupUpdate.
type GroupEvent uint8

// GroupUpdate events.
const (
	GroupEventJoined      GroupEvent = 1 // joined: user_id joined (or accepted an invitation)
	GroupEventLeft        GroupEvent = 2 // left: user_id left
	GroupEventRemoved     GroupEvent = 3 // removed: user_id was removed by actor_id
	GroupEventInvited     GroupEvent = 4 // invited: user_id was invited by actor_id
	GroupEventRoleChanged GroupEvent = 5 // role_changed: user_id now has role
	GroupEventDeclined    GroupEvent = 6 // declined: user_id declined an invitation
)

// RoomEventType says what happened in a RoomEvent frame. (The frame
// type has the name RoomEvent, hence the suffix.)
type RoomEventType uint8

// Room event types.
const (
	RoomEventJoined RoomEventType = 1 // joined: a member joined
	RoomEventLeft   RoomEventType = 2 // left: a member left (or its session ended)
	RoomEventAway   RoomEventType = 3 // away: a member lost its connection; its seat is kept for the resume window
	RoomEventBack   RoomEventType = 4 // back: a member that was away resumed its session
)

// CallState is a call's state in a CallUpdate.
type CallState uint8

// Call states.
const (
	CallRinging CallState = 1 // ringing: invited, ringing on every session of the callee
	CallActive  CallState = 2 // active: accepted by one callee session
	CallEnded   CallState = 3 // ended: see the CallEndReason
)

// CallEndReason says why a call ended (CallEndNone while it has not).
type CallEndReason uint8

// Call end reasons.
const (
	CallEndNone         CallEndReason = 0 // none: the call has not ended
	CallEndDeclined     CallEndReason = 1 // declined: the callee declined while ringing
	CallEndCancelled    CallEndReason = 2 // cancelled: the caller ended it while ringing
	CallEndNoAnswer     CallEndReason = 3 // no_answer: nobody accepted within the ring timeout
	CallEndHungUp       CallEndReason = 4 // hung_up: one side ended an active call
	CallEndDisconnected CallEndReason = 5 // disconnected: a call session ended (or the callee's last session, while ringing)
)

// Name tables, indexed by value; "" marks a number with no meaning.
var (
	presenceNames    = enumNames{what: "presence", names: []string{"offline", "online", "away"}}
	roleNames        = enumNames{what: "role", names: []string{"invited", "member", "admin", "owner"}}
	friendStateNames = enumNames{what: "friend state", names: []string{"none", "incoming", "outgoing", "friend", "blocked"}}
	friendEventNames = enumNames{what: "friend event", names: []string{"", "requested", "accepted", "declined", "removed", "blocked", "unblocked"}}
	groupEventNames  = enumNames{what: "group event", names: []string{"", "joined", "left", "removed", "invited", "role_changed", "declined"}}
	roomEventNames   = enumNames{what: "room event", names: []string{"", "joined", "left", "away", "back"}}

	callStateNames     = enumNames{what: "call state", names: []string{"", "ringing", "active", "ended"}}
	callEndReasonNames = enumNames{what: "call end reason", names: []string{"none", "declined", "cancelled", "no_answer", "hung_up", "disconnected"}}
)

// enumNames is the name table of one wire enum.
type enumNames struct {
	what  string   // for error messages
	names []string // by value; "" is not a value
}

func (t *enumNames) valid(v uint8) bool { return int(v) < len(t.names) && t.names[v] != "" }

// str is the name of v, or "unknown_N" for a number with no name.
func (t *enumNames) str(v uint8) string {
	if t.valid(v) {
		return t.names[v]
	}
	return "unknown_" + strconv.Itoa(int(v))
}

// parse returns the value named s, or a CodeBadRequest error.
func (t *enumNames) parse(s string) (uint8, error) {
	for i, n := range t.names {
		if n != "" && n == s {
			return uint8(i), nil
		}
	}
	return 0, netcode.Errorf(netcode.CodeBadRequest, "unknown %s %q", t.what, s)
}

// marshal is MarshalText: the name, or an error for a number with none.
func (t *enumNames) marshal(v uint8) ([]byte, error) {
	if !t.valid(v) {
		return nil, netcode.Errorf(netcode.CodeBadRequest, "%s %d has no name", t.what, v)
	}
	return []byte(t.names[v]), nil
}

// uintEnum reads an enum field, refusing a number that is not a value
// with CodeBadFrame.
func (f *Fields) uintEnum(what string, t *enumNames) uint8 {
	if !f.next() {
		return 0
	}
	v, err := ReadUint(f.dec, what)
	if err == nil && (v > 255 || !t.valid(uint8(v))) {
		err = malformed("%s: %d is not a %s", what, v, t.what)
	}
	f.Fail(err)
	if err != nil {
		return 0
	}
	return uint8(v)
}

// String returns the name ("online"), or "unknown_N".
func (p Presence) String() string { return presenceNames.str(uint8(p)) }

// Valid reports whether p is a defined presence.
func (p Presence) Valid() bool { return presenceNames.valid(uint8(p)) }

// MarshalText returns the name; an undefined value is an error.
func (p Presence) MarshalText() ([]byte, error) { return presenceNames.marshal(uint8(p)) }

// UnmarshalText parses a name as ParsePresence does.
func (p *Presence) UnmarshalText(b []byte) error {
	v, err := ParsePresence(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// ParsePresence returns the presence named s ("offline", "online",
// "away"); an unknown name is a CodeBadRequest error.
func ParsePresence(s string) (Presence, error) {
	v, err := presenceNames.parse(s)
	return Presence(v), err
}

// String returns the name ("admin"), or "unknown_N".
func (r Role) String() string { return roleNames.str(uint8(r)) }

// Valid reports whether r is a defined role.
func (r Role) Valid() bool { return roleNames.valid(uint8(r)) }

// MarshalText returns the name; an undefined value is an error.
func (r Role) MarshalText() ([]byte, error) { return roleNames.marshal(uint8(r)) }

// UnmarshalText parses a name as ParseRole does.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err == nil {
		*r = v
	}
	return err
}

// ParseRole returns the role named s ("invited", "member", "admin",
// "owner"); an unknown name is a CodeBadRequest error.
func ParseRole(s string) (Role, error) {
	v, err := roleNames.parse(s)
	return Role(v), err
}

// String returns the name ("friend" for FriendAccepted), or "unknown_N".
func (s FriendState) String() string { return friendStateNames.str(uint8(s)) }

// Valid reports whether s is a defined friend state.
func (s FriendState) Valid() bool { return friendStateNames.valid(uint8(s)) }

// MarshalText returns the name; an undefined value is an error.
func (s FriendState) MarshalText() ([]byte, error) { return friendStateNames.marshal(uint8(s)) }

// UnmarshalText parses a name as ParseFriendState does.
func (s *FriendState) UnmarshalText(b []byte) error {
	v, err := ParseFriendState(string(b))
	if err == nil {
		*s = v
	}
	return err
}

// ParseFriendState returns the state named s ("none", "incoming",
// "outgoing", "friend", "blocked"); an unknown name is a CodeBadRequest
// error.
func ParseFriendState(s string) (FriendState, error) {
	v, err := friendStateNames.parse(s)
	return FriendState(v), err
}

// String returns the name ("requested"), or "unknown_N".
func (e FriendEvent) String() string { return friendEventNames.str(uint8(e)) }

// Valid reports whether e is a defined friend event.
func (e FriendEvent) Valid() bool { return friendEventNames.valid(uint8(e)) }

// MarshalText returns the name; an undefined value is an error.
func (e FriendEvent) MarshalText() ([]byte, error) { return friendEventNames.marshal(uint8(e)) }

// UnmarshalText parses a name as ParseFriendEvent does.
func (e *FriendEvent) UnmarshalText(b []byte) error {
	v, err := ParseFriendEvent(string(b))
	if err == nil {
		*e = v
	}
	return err
}

// ParseFriendEvent returns the event named s ("requested", "accepted",
// "declined", "removed", "blocked", "unblocked"); an unknown name is a
// CodeBadRequest error.
func ParseFriendEvent(s string) (FriendEvent, error) {
	v, err := friendEventNames.parse(s)
	return FriendEvent(v), err
}

// String returns the name ("role_changed"), or "unknown_N".
func (e GroupEvent) String() string { return groupEventNames.str(uint8(e)) }

// Valid reports whether e is a defined group event.
func (e GroupEvent) Valid() bool { return groupEventNames.valid(uint8(e)) }

// MarshalText returns the name; an undefined value is an error.
func (e GroupEvent) MarshalText() ([]byte, error) { return groupEventNames.marshal(uint8(e)) }

// UnmarshalText parses a name as ParseGroupEvent does.
func (e *GroupEvent) UnmarshalText(b []byte) error {
	v, err := ParseGroupEvent(string(b))
	if err == nil {
		*e = v
	}
	return err
}

// ParseGroupEvent returns the event named s ("joined", "left", "removed",
// "invited", "role_changed", "declined"); an unknown name is a
// CodeBadRequest error.
func ParseGroupEvent(s string) (GroupEvent, error) {
	v, err := groupEventNames.parse(s)
	return GroupEvent(v), err
}

// String returns the name ("joined"), or "unknown_N".
func (e RoomEventType) String() string { return roomEventNames.str(uint8(e)) }

// Valid reports whether e is a defined room event.
func (e RoomEventType) Valid() bool { return roomEventNames.valid(uint8(e)) }

// MarshalText returns the name; an undefined value is an error.
func (e RoomEventType) MarshalText() ([]byte, error) { return roomEventNames.marshal(uint8(e)) }

// UnmarshalText parses a name as ParseRoomEventType does.
func (e *RoomEventType) UnmarshalText(b []byte) error {
	v, err := ParseRoomEventType(string(b))
	if err == nil {
		*e = v
	}
	return err
}

// ParseRoomEventType returns the event named s ("joined", "left", "away",
// "back"); an
// unknown name is a CodeBadRequest error.
func ParseRoomEventType(s string) (RoomEventType, error) {
	v, err := roomEventNames.parse(s)
	return RoomEventType(v), err
}

// String returns the name ("ringing"), or "unknown_N".
func (s CallState) String() string { return callStateNames.str(uint8(s)) }

// Valid reports whether s is a defined call state.
func (s CallState) Valid() bool { return callStateNames.valid(uint8(s)) }

// MarshalText returns the name; an undefined value is an error.
func (s CallState) MarshalText() ([]byte, error) { return callStateNames.marshal(uint8(s)) }

// UnmarshalText parses a name as ParseCallState does.
func (s *CallState) UnmarshalText(b []byte) error {
	v, err := ParseCallState(string(b))
	if err == nil {
		*s = v
	}
	return err
}

// ParseCallState returns the state named s ("ringing", "active",
// "ended"); an unknown name is a CodeBadRequest error.
func ParseCallState(s string) (CallState, error) {
	v, err := callStateNames.parse(s)
	return CallState(v), err
}

// String returns the name ("no_answer"), or "unknown_N".
func (r CallEndReason) String() string { return callEndReasonNames.str(uint8(r)) }

// Valid reports whether r is a defined end reason.
func (r CallEndReason) Valid() bool { return callEndReasonNames.valid(uint8(r)) }

// MarshalText returns the name; an undefined value is an error.
func (r CallEndReason) MarshalText() ([]byte, error) { return callEndReasonNames.marshal(uint8(r)) }

// UnmarshalText parses a name as ParseCallEndReason does.
func (r *CallEndReason) UnmarshalText(b []byte) error {
	v, err := ParseCallEndReason(string(b))
	if err == nil {
		*r = v
	}
	return err
}

// ParseCallEndReason returns the reason named s ("none", "declined",
// "cancelled", "no_answer", "hung_up", "disconnected"); an unknown name
// is a CodeBadRequest error.
func ParseCallEndReason(s string) (CallEndReason, error) {
	v, err := callEndReasonNames.parse(s)
	return CallEndReason(v), err
}
