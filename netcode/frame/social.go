package frame

import (
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Social kinds (64–127). Every social frame has the request ref as field
// 1: requests carry a client-chosen non-zero ref (MessageAck may carry 0
// to ask for no reply), replies echo it, and server pushes (FriendUpdate,
// GroupUpdate, Message, PresenceUpdate) carry 0. Requests that return
// nothing else are answered with OK [8, ref]; failures with Error [3,
// code, message, ref]. docs/PROTOCOL.md (section 5) documents each layout.
const (
	KindFriendRequest      Kind = 64  // [64, ref, username]
	KindFriendAccept       Kind = 65  // [65, ref, user_id]
	KindFriendDecline      Kind = 66  // [66, ref, user_id]
	KindFriendRemove       Kind = 67  // [67, ref, user_id]
	KindFriendBlock        Kind = 68  // [68, ref, user_id]
	KindFriendUnblock      Kind = 69  // [69, ref, user_id]
	KindFriendList         Kind = 70  // [70, ref, after_user_id]
	KindFriendListResult   Kind = 71  // [71, ref, friends, more]
	KindFriendUpdate       Kind = 72  // [72, 0, event, friend]
	KindGroupCreate        Kind = 80  // [80, ref, name, open]
	KindGroupResult        Kind = 81  // [81, ref, group]
	KindGroupJoin          Kind = 82  // [82, ref, group_id]
	KindGroupInvite        Kind = 83  // [83, ref, group_id, user_id]
	KindGroupAccept        Kind = 84  // [84, ref, group_id]
	KindGroupDecline       Kind = 85  // [85, ref, group_id]
	KindGroupLeave         Kind = 86  // [86, ref, group_id]
	KindGroupRemove        Kind = 87  // [87, ref, group_id, user_id]
	KindGroupSetRole       Kind = 88  // [88, ref, group_id, user_id, role]
	KindGroupMembers       Kind = 89  // [89, ref, group_id, after_user_id, limit]
	KindGroupMembersResult Kind = 90  // [90, ref, group_id, members, more]
	KindGroupList          Kind = 91  // [91, ref]
	KindGroupListResult    Kind = 92  // [92, ref, groups]
	KindGroupUpdate        Kind = 93  // [93, 0, event, group_id, group_name, user_id, actor_id, role]
	KindDirectSend         Kind = 96  // [96, ref, to_user_id, body]
	KindGroupSend          Kind = 97  // [97, ref, group_id, body]
	KindMessageSent        Kind = 98  // [98, ref, id, time_us]
	KindMessage            Kind = 99  // [99, 0, id, group_id, from_user_id, to_user_id, time_us, body, from_name]
	KindMessageAck         Kind = 100 // [100, ref, up_to_id]
	KindHistory            Kind = 101 // [101, ref, group_id, user_id, before_id, limit]
	KindHistoryResult      Kind = 102 // [102, ref, messages, more]
	KindSetPresence        Kind = 104 // [104, ref, presence, status_text]
	KindPresenceUpdate     Kind = 105 // [105, 0, user_id, presence, status_text, last_seen_us]
)

// Social size limits enforced by the decoders. The server configures
// tighter ones of its own (engine/social.Config).
const (
	MaxMessageBody  = 16 << 10 // bytes of a message body
	MaxStatusText   = 256      // bytes of a custom status text
	MaxGroupName    = MaxNameLen
	MaxSocialListed = 1024 // entries in one list result (friends, members, groups, messages)
	MaxHistoryLimit = 200  // messages asked for in one History request
)

// The enums these frames carry (FriendState, FriendEvent, Presence,
// Role, GroupEvent) are in enums.go.

const maxRef = math.MaxUint32

// ---- shared shapes ----

// userTarget is the layout [kind, ref, user_id] shared by several
// friend requests.
func encodeUserTarget(enc *msgpack.Encoder, k Kind, ref uint32, userID string) error {
	w := W{Enc: enc}
	w.Begin(k, 2)
	w.Uint(uint64(ref))
	w.String(userID)
	return w.Err()
}

func decodeUserTarget(dec *msgpack.Decoder, k Kind, ref *uint32, userID *string) error {
	f := Begin(dec, k, 2)
	*ref = uint32(f.Uint("ref", maxRef))
	*userID = f.String("user_id", MaxIDLen)
	return f.End()
}

// groupTarget is the layout [kind, ref, group_id].
func encodeGroupTarget(enc *msgpack.Encoder, k Kind, ref uint32, groupID uint64) error {
	w := W{Enc: enc}
	w.Begin(k, 2)
	w.Uint(uint64(ref))
	w.Uint(groupID)
	return w.Err()
}

func decodeGroupTarget(dec *msgpack.Decoder, k Kind, ref *uint32, groupID *uint64) error {
	f := Begin(dec, k, 2)
	*ref = uint32(f.Uint("ref", maxRef))
	*groupID = f.Uint("group_id", math.MaxInt64)
	return f.End()
}

// ---- friends ----

// FriendRequest asks username to be friends: [64, ref, username]. If they
// had already asked the sender, the two become friends at once. Answered
// with OK; both users get a FriendUpdate.
type FriendRequest struct {
	Ref      uint32
	Username string
}

func (*FriendRequest) Kind() Kind          { return KindFriendRequest }
func (m *FriendRequest) SetRef(ref uint32) { m.Ref = ref }
func (m *FriendRequest) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindFriendRequest, 2)
	w.Uint(uint64(m.Ref))
	w.String(m.Username)
	return w.Err()
}
func (m *FriendRequest) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindFriendRequest, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.Username = f.String("username", MaxNameLen)
	return f.End()
}

// FriendAccept accepts user_id's pending request: [65, ref, user_id].
type FriendAccept struct {
	Ref    uint32
	UserID string
}

func (*FriendAccept) Kind() Kind          { return KindFriendAccept }
func (m *FriendAccept) SetRef(ref uint32) { m.Ref = ref }
func (m *FriendAccept) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeUserTarget(enc, KindFriendAccept, m.Ref, m.UserID)
}
func (m *FriendAccept) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeUserTarget(dec, KindFriendAccept, &m.Ref, &m.UserID)
}

// FriendDecline declines user_id's pending request: [66, ref, user_id].
type FriendDecline struct {
	Ref    uint32
	UserID string
}

func (*FriendDecline) Kind() Kind          { return KindFriendDecline }
func (m *FriendDecline) SetRef(ref uint32) { m.Ref = ref }
func (m *FriendDecline) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeUserTarget(enc, KindFriendDecline, m.Ref, m.UserID)
}
func (m *FriendDecline) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeUserTarget(dec, KindFriendDecline, &m.Ref, &m.UserID)
}

// FriendRemove ends a friendship or cancels the sender's own pending
// request: [67, ref, user_id].
type FriendRemove struct {
	Ref    uint32
	UserID string
}

func (*FriendRemove) Kind() Kind          { return KindFriendRemove }
func (m *FriendRemove) SetRef(ref uint32) { m.Ref = ref }
func (m *FriendRemove) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeUserTarget(enc, KindFriendRemove, m.Ref, m.UserID)
}
func (m *FriendRemove) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeUserTarget(dec, KindFriendRemove, &m.Ref, &m.UserID)
}

// FriendBlock blocks user_id (ending any friendship or request between
// the two): [68, ref, user_id].
type FriendBlock struct {
	Ref    uint32
	UserID string
}

func (*FriendBlock) Kind() Kind          { return KindFriendBlock }
func (m *FriendBlock) SetRef(ref uint32) { m.Ref = ref }
func (m *FriendBlock) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeUserTarget(enc, KindFriendBlock, m.Ref, m.UserID)
}
func (m *FriendBlock) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeUserTarget(dec, KindFriendBlock, &m.Ref, &m.UserID)
}

// FriendUnblock lifts a block: [69, ref, user_id].
type FriendUnblock struct {
	Ref    uint32
	UserID string
}

func (*FriendUnblock) Kind() Kind          { return KindFriendUnblock }
func (m *FriendUnblock) SetRef(ref uint32) { m.Ref = ref }
func (m *FriendUnblock) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeUserTarget(enc, KindFriendUnblock, m.Ref, m.UserID)
}
func (m *FriendUnblock) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeUserTarget(dec, KindFriendUnblock, &m.Ref, &m.UserID)
}

// FriendList asks for the caller's friends, pending requests and blocks,
// ordered by user id, after after_user_id ("" from the start):
// [70, ref, after_user_id]. Answered with FriendListResult.
type FriendList struct {
	Ref         uint32
	AfterUserID string
}

func (*FriendList) Kind() Kind          { return KindFriendList }
func (m *FriendList) SetRef(ref uint32) { m.Ref = ref }
func (m *FriendList) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeUserTarget(enc, KindFriendList, m.Ref, m.AfterUserID)
}
func (m *FriendList) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindFriendList, 1)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.AfterUserID = f.String("after_user_id", MaxIDLen)
	return f.End()
}

// Friend is one entry of a friend list or update:
// [user_id, username, display_name, state, presence, status_text, last_seen_us].
// Presence and status are filled for accepted friends only.
type Friend struct {
	UserID      string
	Username    string
	DisplayName string
	State       FriendState
	Presence    Presence
	StatusText  string
	LastSeenUs  int64 // when the friend was last online (0 if unknown)
}

func (e *Friend) encode(w *W) {
	w.ArrayLen(7)
	w.String(e.UserID)
	w.String(e.Username)
	w.String(e.DisplayName)
	w.Uint(uint64(e.State))
	w.Uint(uint64(e.Presence))
	w.String(e.StatusText)
	w.Int(e.LastSeenUs)
}

func (e *Friend) decode(f *Fields) {
	dec := f.Decoder()
	n, err := ReadArrayLen(dec, "friend", MaxFields)
	if err != nil {
		f.Fail(err)
		return
	}
	g := Fields{dec: dec, have: n}
	e.UserID = g.String("user_id", MaxIDLen)
	e.Username = g.String("username", MaxNameLen)
	e.DisplayName = g.String("display_name", MaxNameLen)
	e.State = FriendState(g.uintEnum("state", &friendStateNames))
	e.Presence = Presence(g.uintEnum("presence", &presenceNames))
	e.StatusText = g.String("status_text", MaxStatusText)
	e.LastSeenUs = g.Int("last_seen_us")
	f.Fail(g.End())
}

// nested reads the array length of a list field and fails on error.
func nestedLen(f *Fields, what string) int {
	return f.ArrayLen(what, MaxSocialListed)
}

// FriendListResult answers FriendList: [71, ref, friends, more]. More
// says another page follows (ask again with after_user_id = the last
// user id); pages are cut to fit one frame.
type FriendListResult struct {
	Ref     uint32
	Friends []Friend
	More    bool
}

func (*FriendListResult) Kind() Kind { return KindFriendListResult }
func (m *FriendListResult) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindFriendListResult, 3)
	w.Uint(uint64(m.Ref))
	w.ArrayLen(len(m.Friends))
	for i := range m.Friends {
		m.Friends[i].encode(&w)
	}
	w.Bool(m.More)
	return w.Err()
}
func (m *FriendListResult) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindFriendListResult, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	n := nestedLen(&f, "friends")
	m.Friends = nil
	if n > 0 {
		m.Friends = make([]Friend, n)
		for i := 0; i < n && f.Err() == nil; i++ {
			m.Friends[i].decode(&f)
		}
	}
	m.More = f.Bool("more")
	return f.End()
}

// FriendUpdate is pushed to both users whenever their relation changes:
// [72, 0, event, friend]. Friend describes the other user and the new
// state as seen by the receiver.
type FriendUpdate struct {
	Ref    uint32
	Event  FriendEvent
	Friend Friend
}

func (*FriendUpdate) Kind() Kind { return KindFriendUpdate }
func (m *FriendUpdate) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindFriendUpdate, 3)
	w.Uint(uint64(m.Ref))
	w.Uint(uint64(m.Event))
	m.Friend.encode(&w)
	return w.Err()
}
func (m *FriendUpdate) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindFriendUpdate, 3)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.Event = FriendEvent(f.uintEnum("event", &friendEventNames))
	if f.next() {
		m.Friend.decode(&f)
	}
	return f.End()
}

// ---- groups ----

// GroupAccess says who may join a group. On the wire (and in the HTTP
// JSON) it is the boolean "open" of GroupCreate and Group, and converts
// to and from it: GroupAccess(g.Open), bool(access). Go APIs take it
// instead of a bare bool, so a call reads CreateGroup(ctx, "squad",
// frame.GroupInviteOnly).
type GroupAccess bool

// Group access values.
const (
	GroupInviteOnly GroupAccess = false // invite_only: only invited users may join
	GroupOpen       GroupAccess = true  // open: anyone may join
)

// String is "open" or "invite_only".
func (a GroupAccess) String() string {
	if a == GroupOpen {
		return "open"
	}
	return "invite_only"
}

// GroupCreate creates a group owned by the caller: [80, ref, name, open].
// An open group can be joined by anyone; otherwise an invitation is
// needed. Answered with GroupResult.
type GroupCreate struct {
	Ref  uint32
	Name string
	Open bool
}

func (*GroupCreate) Kind() Kind          { return KindGroupCreate }
func (m *GroupCreate) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupCreate) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupCreate, 3)
	w.Uint(uint64(m.Ref))
	w.String(m.Name)
	w.Bool(m.Open)
	return w.Err()
}
func (m *GroupCreate) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupCreate, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.Name = f.String("name", MaxGroupName)
	m.Open = f.Bool("open")
	return f.End()
}

// Group is one entry of a group list or result:
// [id, name, open, role, members, owner_id]. Role is the caller's role
// (RoleInvited for a pending invitation).
type Group struct {
	ID      uint64
	Name    string
	Open    bool
	Role    Role
	Members uint32
	OwnerID string
}

func (e *Group) encode(w *W) {
	w.ArrayLen(6)
	w.Uint(e.ID)
	w.String(e.Name)
	w.Bool(e.Open)
	w.Uint(uint64(e.Role))
	w.Uint(uint64(e.Members))
	w.String(e.OwnerID)
}

func (e *Group) decode(f *Fields) {
	dec := f.Decoder()
	n, err := ReadArrayLen(dec, "group", MaxFields)
	if err != nil {
		f.Fail(err)
		return
	}
	g := Fields{dec: dec, have: n}
	e.ID = g.Uint("id", math.MaxInt64)
	e.Name = g.String("name", MaxGroupName)
	e.Open = g.Bool("open")
	e.Role = Role(g.uintEnum("role", &roleNames))
	e.Members = uint32(g.Uint("members", math.MaxUint32))
	e.OwnerID = g.String("owner_id", MaxIDLen)
	f.Fail(g.End())
}

// GroupResult answers GroupCreate: [81, ref, group].
type GroupResult struct {
	Ref   uint32
	Group Group
}

func (*GroupResult) Kind() Kind { return KindGroupResult }
func (m *GroupResult) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupResult, 2)
	w.Uint(uint64(m.Ref))
	m.Group.encode(&w)
	return w.Err()
}
func (m *GroupResult) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupResult, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	if f.next() {
		m.Group.decode(&f)
	}
	return f.End()
}

// GroupJoin joins an open group (or accepts a pending invitation to an
// invite-only one): [82, ref, group_id]. Answered with OK.
type GroupJoin struct {
	Ref     uint32
	GroupID uint64
}

func (*GroupJoin) Kind() Kind          { return KindGroupJoin }
func (m *GroupJoin) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupJoin) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeGroupTarget(enc, KindGroupJoin, m.Ref, m.GroupID)
}
func (m *GroupJoin) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeGroupTarget(dec, KindGroupJoin, &m.Ref, &m.GroupID)
}

// GroupInvite invites user_id: [83, ref, group_id, user_id]. In an open
// group any member may invite; in an invite-only group owners and admins.
type GroupInvite struct {
	Ref     uint32
	GroupID uint64
	UserID  string
}

func (*GroupInvite) Kind() Kind          { return KindGroupInvite }
func (m *GroupInvite) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupInvite) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupInvite, 3)
	w.Uint(uint64(m.Ref))
	w.Uint(m.GroupID)
	w.String(m.UserID)
	return w.Err()
}
func (m *GroupInvite) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupInvite, 3)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.GroupID = f.Uint("group_id", math.MaxInt64)
	m.UserID = f.String("user_id", MaxIDLen)
	return f.End()
}

// GroupAccept accepts an invitation: [84, ref, group_id].
type GroupAccept struct {
	Ref     uint32
	GroupID uint64
}

func (*GroupAccept) Kind() Kind          { return KindGroupAccept }
func (m *GroupAccept) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupAccept) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeGroupTarget(enc, KindGroupAccept, m.Ref, m.GroupID)
}
func (m *GroupAccept) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeGroupTarget(dec, KindGroupAccept, &m.Ref, &m.GroupID)
}

// GroupDecline declines an invitation: [85, ref, group_id].
type GroupDecline struct {
	Ref     uint32
	GroupID uint64
}

func (*GroupDecline) Kind() Kind          { return KindGroupDecline }
func (m *GroupDecline) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupDecline) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeGroupTarget(enc, KindGroupDecline, m.Ref, m.GroupID)
}
func (m *GroupDecline) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeGroupTarget(dec, KindGroupDecline, &m.Ref, &m.GroupID)
}

// GroupLeave leaves a group: [86, ref, group_id]. When the owner leaves,
// the longest-standing admin (else member) becomes owner; the last member
// leaving deletes the group.
type GroupLeave struct {
	Ref     uint32
	GroupID uint64
}

func (*GroupLeave) Kind() Kind          { return KindGroupLeave }
func (m *GroupLeave) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupLeave) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeGroupTarget(enc, KindGroupLeave, m.Ref, m.GroupID)
}
func (m *GroupLeave) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeGroupTarget(dec, KindGroupLeave, &m.Ref, &m.GroupID)
}

// GroupRemove removes a member: [87, ref, group_id, user_id]. The owner
// may remove anyone else; an admin may remove plain members.
type GroupRemove struct {
	Ref     uint32
	GroupID uint64
	UserID  string
}

func (*GroupRemove) Kind() Kind          { return KindGroupRemove }
func (m *GroupRemove) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupRemove) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupRemove, 3)
	w.Uint(uint64(m.Ref))
	w.Uint(m.GroupID)
	w.String(m.UserID)
	return w.Err()
}
func (m *GroupRemove) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupRemove, 3)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.GroupID = f.Uint("group_id", math.MaxInt64)
	m.UserID = f.String("user_id", MaxIDLen)
	return f.End()
}

// GroupSetRole makes a member an admin or a plain member again (owner
// only): [88, ref, group_id, user_id, role].
type GroupSetRole struct {
	Ref     uint32
	GroupID uint64
	UserID  string
	Role    Role
}

func (*GroupSetRole) Kind() Kind          { return KindGroupSetRole }
func (m *GroupSetRole) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupSetRole) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupSetRole, 4)
	w.Uint(uint64(m.Ref))
	w.Uint(m.GroupID)
	w.String(m.UserID)
	w.Uint(uint64(m.Role))
	return w.Err()
}
func (m *GroupSetRole) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupSetRole, 4)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.GroupID = f.Uint("group_id", math.MaxInt64)
	m.UserID = f.String("user_id", MaxIDLen)
	m.Role = Role(f.uintEnum("role", &roleNames))
	return f.End()
}

// GroupMembers lists members ordered by user id, after after_user_id
// ("" from the start), at most limit (0: server default):
// [89, ref, group_id, after_user_id, limit]. Members only.
type GroupMembers struct {
	Ref         uint32
	GroupID     uint64
	AfterUserID string
	Limit       uint16
}

func (*GroupMembers) Kind() Kind          { return KindGroupMembers }
func (m *GroupMembers) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupMembers) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupMembers, 4)
	w.Uint(uint64(m.Ref))
	w.Uint(m.GroupID)
	w.String(m.AfterUserID)
	w.Uint(uint64(m.Limit))
	return w.Err()
}
func (m *GroupMembers) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupMembers, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.GroupID = f.Uint("group_id", math.MaxInt64)
	m.AfterUserID = f.String("after_user_id", MaxIDLen)
	m.Limit = uint16(f.Uint("limit", math.MaxUint16))
	return f.End()
}

// Member is one entry of a member list:
// [user_id, display_name, role, presence].
type Member struct {
	UserID      string
	DisplayName string
	Role        Role
	Presence    Presence
}

func (e *Member) encode(w *W) {
	w.ArrayLen(4)
	w.String(e.UserID)
	w.String(e.DisplayName)
	w.Uint(uint64(e.Role))
	w.Uint(uint64(e.Presence))
}

func (e *Member) decode(f *Fields) {
	dec := f.Decoder()
	n, err := ReadArrayLen(dec, "member", MaxFields)
	if err != nil {
		f.Fail(err)
		return
	}
	g := Fields{dec: dec, have: n}
	e.UserID = g.String("user_id", MaxIDLen)
	e.DisplayName = g.String("display_name", MaxNameLen)
	e.Role = Role(g.uintEnum("role", &roleNames))
	e.Presence = Presence(g.uintEnum("presence", &presenceNames))
	f.Fail(g.End())
}

// GroupMembersResult answers GroupMembers:
// [90, ref, group_id, members, more]. More says another page follows
// (ask again with after_user_id = the last user id).
type GroupMembersResult struct {
	Ref     uint32
	GroupID uint64
	Members []Member
	More    bool
}

func (*GroupMembersResult) Kind() Kind { return KindGroupMembersResult }
func (m *GroupMembersResult) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupMembersResult, 4)
	w.Uint(uint64(m.Ref))
	w.Uint(m.GroupID)
	w.ArrayLen(len(m.Members))
	for i := range m.Members {
		m.Members[i].encode(&w)
	}
	w.Bool(m.More)
	return w.Err()
}
func (m *GroupMembersResult) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupMembersResult, 3)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.GroupID = f.Uint("group_id", math.MaxInt64)
	n := nestedLen(&f, "members")
	m.Members = nil
	if n > 0 {
		m.Members = make([]Member, n)
		for i := 0; i < n && f.Err() == nil; i++ {
			m.Members[i].decode(&f)
		}
	}
	m.More = f.Bool("more")
	return f.End()
}

// GroupList lists the caller's groups and pending invitations, ordered
// by group id, after after_group_id (0 from the start; optional):
// [91, ref, after_group_id]. Answered with GroupListResult.
type GroupList struct {
	Ref          uint32
	AfterGroupID uint64
}

func (*GroupList) Kind() Kind          { return KindGroupList }
func (m *GroupList) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupList) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupList, 2)
	w.Uint(uint64(m.Ref))
	w.Uint(m.AfterGroupID)
	return w.Err()
}
func (m *GroupList) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupList, 1)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.AfterGroupID = f.Uint("after_group_id", math.MaxInt64)
	return f.End()
}

// GroupListResult answers GroupList: [92, ref, groups, more]. More
// (optional, false when absent) says another page follows (ask again with
// after_group_id = the last id); pages are cut to fit one frame.
type GroupListResult struct {
	Ref    uint32
	Groups []Group
	More   bool
}

func (*GroupListResult) Kind() Kind { return KindGroupListResult }
func (m *GroupListResult) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupListResult, 3)
	w.Uint(uint64(m.Ref))
	w.ArrayLen(len(m.Groups))
	for i := range m.Groups {
		m.Groups[i].encode(&w)
	}
	w.Bool(m.More)
	return w.Err()
}
func (m *GroupListResult) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupListResult, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	n := nestedLen(&f, "groups")
	m.Groups = nil
	if n > 0 {
		m.Groups = make([]Group, n)
		for i := 0; i < n && f.Err() == nil; i++ {
			m.Groups[i].decode(&f)
		}
	}
	m.More = f.Bool("more")
	return f.End()
}

// GroupUpdate is pushed to a group's online members (and to the user
// concerned) when membership changes:
// [93, 0, event, group_id, group_name, user_id, actor_id, role].
type GroupUpdate struct {
	Ref       uint32
	Event     GroupEvent
	GroupID   uint64
	GroupName string
	UserID    string // the member concerned
	ActorID   string // who did it (same as UserID for join/leave)
	Role      Role   // the member's role after the change
}

func (*GroupUpdate) Kind() Kind { return KindGroupUpdate }
func (m *GroupUpdate) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupUpdate, 7)
	w.Uint(uint64(m.Ref))
	w.Uint(uint64(m.Event))
	w.Uint(m.GroupID)
	w.String(m.GroupName)
	w.String(m.UserID)
	w.String(m.ActorID)
	w.Uint(uint64(m.Role))
	return w.Err()
}
func (m *GroupUpdate) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupUpdate, 5)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.Event = GroupEvent(f.uintEnum("event", &groupEventNames))
	m.GroupID = f.Uint("group_id", math.MaxInt64)
	m.GroupName = f.String("group_name", MaxGroupName)
	m.UserID = f.String("user_id", MaxIDLen)
	m.ActorID = f.String("actor_id", MaxIDLen)
	m.Role = Role(f.uintEnum("role", &roleNames))
	return f.End()
}

// ---- messages ----

// DirectSend sends a direct message to a friend:
// [96, ref, to_user_id, body]. Answered with MessageSent once stored.
type DirectSend struct {
	Ref      uint32
	ToUserID string
	Body     string
}

func (*DirectSend) Kind() Kind          { return KindDirectSend }
func (m *DirectSend) SetRef(ref uint32) { m.Ref = ref }
func (m *DirectSend) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindDirectSend, 3)
	w.Uint(uint64(m.Ref))
	w.String(m.ToUserID)
	w.String(m.Body)
	return w.Err()
}
func (m *DirectSend) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindDirectSend, 3)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.ToUserID = f.String("to_user_id", MaxIDLen)
	m.Body = f.String("body", MaxMessageBody)
	return f.End()
}

// GroupSend sends a message to a group the caller is a member of:
// [97, ref, group_id, body]. Answered with MessageSent once stored.
type GroupSend struct {
	Ref     uint32
	GroupID uint64
	Body    string
}

func (*GroupSend) Kind() Kind          { return KindGroupSend }
func (m *GroupSend) SetRef(ref uint32) { m.Ref = ref }
func (m *GroupSend) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindGroupSend, 3)
	w.Uint(uint64(m.Ref))
	w.Uint(m.GroupID)
	w.String(m.Body)
	return w.Err()
}
func (m *GroupSend) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindGroupSend, 3)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.GroupID = f.Uint("group_id", math.MaxInt64)
	m.Body = f.String("body", MaxMessageBody)
	return f.End()
}

// MessageSent acknowledges a stored message to its sender:
// [98, ref, id, time_us].
type MessageSent struct {
	Ref    uint32
	ID     uint64
	TimeUs int64
}

func (*MessageSent) Kind() Kind { return KindMessageSent }
func (m *MessageSent) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindMessageSent, 3)
	w.Uint(uint64(m.Ref))
	w.Uint(m.ID)
	w.Int(m.TimeUs)
	return w.Err()
}
func (m *MessageSent) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindMessageSent, 3)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.ID = f.Uint("id", math.MaxInt64)
	m.TimeUs = f.Int("time_us")
	return f.End()
}

// ChatMessage is a stored message. GroupID is 0 for a direct message, in
// which case ToUserID is the recipient; for a group message ToUserID is "".
type ChatMessage struct {
	ID         uint64
	GroupID    uint64
	FromUserID string
	ToUserID   string
	TimeUs     int64
	Body       string
	FromName   string
}

func (e *ChatMessage) encodeFields(w *W) {
	w.Uint(e.ID)
	w.Uint(e.GroupID)
	w.String(e.FromUserID)
	w.String(e.ToUserID)
	w.Int(e.TimeUs)
	w.String(e.Body)
	w.String(e.FromName)
}

func (e *ChatMessage) decodeFields(f *Fields) {
	e.ID = f.Uint("id", math.MaxInt64)
	e.GroupID = f.Uint("group_id", math.MaxInt64)
	e.FromUserID = f.String("from_user_id", MaxIDLen)
	e.ToUserID = f.String("to_user_id", MaxIDLen)
	e.TimeUs = f.Int("time_us")
	e.Body = f.String("body", MaxMessageBody)
	e.FromName = f.String("from_name", MaxNameLen)
}

// Message delivers a message to a recipient:
// [99, 0, id, group_id, from_user_id, to_user_id, time_us, body, from_name].
// A session receives its user's messages in increasing id order; a
// client acknowledges with MessageAck and drops ids it has already seen.
type Message struct {
	Ref uint32
	ChatMessage
}

func (*Message) Kind() Kind { return KindMessage }
func (m *Message) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindMessage, 8)
	w.Uint(uint64(m.Ref))
	m.ChatMessage.encodeFields(&w)
	return w.Err()
}
func (m *Message) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindMessage, 7)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.ChatMessage.decodeFields(&f)
	return f.End()
}

// MessageAck acknowledges every message delivered to the caller with an
// id up to up_to_id: [100, ref, up_to_id]. Unacknowledged messages are
// delivered again on the next login. Ref 0 asks for no reply; otherwise
// answered with OK.
type MessageAck struct {
	Ref    uint32
	UpToID uint64
}

func (*MessageAck) Kind() Kind          { return KindMessageAck }
func (m *MessageAck) SetRef(ref uint32) { m.Ref = ref }
func (m *MessageAck) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindMessageAck, 2)
	w.Uint(uint64(m.Ref))
	w.Uint(m.UpToID)
	return w.Err()
}
func (m *MessageAck) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindMessageAck, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.UpToID = f.Uint("up_to_id", math.MaxInt64)
	return f.End()
}

// History pages back through one conversation: a group (group_id != 0)
// or the direct conversation with user_id:
// [101, ref, group_id, user_id, before_id, limit]. before_id 0 means from
// the newest; limit 0 means the server default.
type History struct {
	Ref      uint32
	GroupID  uint64
	UserID   string
	BeforeID uint64
	Limit    uint16
}

func (*History) Kind() Kind          { return KindHistory }
func (m *History) SetRef(ref uint32) { m.Ref = ref }
func (m *History) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindHistory, 5)
	w.Uint(uint64(m.Ref))
	w.Uint(m.GroupID)
	w.String(m.UserID)
	w.Uint(m.BeforeID)
	w.Uint(uint64(m.Limit))
	return w.Err()
}
func (m *History) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindHistory, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.GroupID = f.Uint("group_id", math.MaxInt64)
	m.UserID = f.String("user_id", MaxIDLen)
	m.BeforeID = f.Uint("before_id", math.MaxInt64)
	m.Limit = uint16(f.Uint("limit", MaxHistoryLimit))
	return f.End()
}

// HistoryResult answers History with messages in increasing id order:
// [102, ref, messages, more]; each message is
// [id, group_id, from_user_id, to_user_id, time_us, body, from_name].
// More says older messages exist (ask again with before_id = the first id).
type HistoryResult struct {
	Ref      uint32
	Messages []ChatMessage
	More     bool
}

func (*HistoryResult) Kind() Kind { return KindHistoryResult }
func (m *HistoryResult) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindHistoryResult, 3)
	w.Uint(uint64(m.Ref))
	w.ArrayLen(len(m.Messages))
	for i := range m.Messages {
		w.ArrayLen(7)
		m.Messages[i].encodeFields(&w)
	}
	w.Bool(m.More)
	return w.Err()
}
func (m *HistoryResult) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindHistoryResult, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	n := nestedLen(&f, "messages")
	m.Messages = nil
	if n > 0 {
		m.Messages = make([]ChatMessage, n)
		for i := 0; i < n && f.Err() == nil; i++ {
			k, err := ReadArrayLen(f.Decoder(), "message", MaxFields)
			if err != nil {
				f.Fail(err)
				break
			}
			g := Fields{dec: f.Decoder(), have: k}
			m.Messages[i].decodeFields(&g)
			f.Fail(g.End())
		}
	}
	m.More = f.Bool("more")
	return f.End()
}

// ---- presence ----

// SetPresence sets the caller's presence (PresenceOnline, or PresenceAway
// to appear away until set online again) and custom status text:
// [104, ref, presence, status_text]. Answered with OK; friends get a
// PresenceUpdate.
type SetPresence struct {
	Ref        uint32
	Presence   Presence
	StatusText string
}

func (*SetPresence) Kind() Kind          { return KindSetPresence }
func (m *SetPresence) SetRef(ref uint32) { m.Ref = ref }
func (m *SetPresence) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindSetPresence, 3)
	w.Uint(uint64(m.Ref))
	w.Uint(uint64(m.Presence))
	w.String(m.StatusText)
	return w.Err()
}
func (m *SetPresence) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindSetPresence, 2)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.Presence = Presence(f.uintEnum("presence", &presenceNames))
	m.StatusText = f.String("status_text", MaxStatusText)
	return f.End()
}

// PresenceUpdate is pushed to a user's online friends when the user's
// presence or status text changes:
// [105, 0, user_id, presence, status_text, last_seen_us].
type PresenceUpdate struct {
	Ref        uint32
	UserID     string
	Presence   Presence
	StatusText string
	LastSeenUs int64
}

func (*PresenceUpdate) Kind() Kind { return KindPresenceUpdate }
func (m *PresenceUpdate) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindPresenceUpdate, 5)
	w.Uint(uint64(m.Ref))
	w.String(m.UserID)
	w.Uint(uint64(m.Presence))
	w.String(m.StatusText)
	w.Int(m.LastSeenUs)
	return w.Err()
}
func (m *PresenceUpdate) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindPresenceUpdate, 3)
	m.Ref = uint32(f.Uint("ref", maxRef))
	m.UserID = f.String("user_id", MaxIDLen)
	m.Presence = Presence(f.uintEnum("presence", &presenceNames))
	m.StatusText = f.String("status_text", MaxStatusText)
	m.LastSeenUs = f.Int("last_seen_us")
	return f.End()
}

// IsSocialKind reports whether k is in the social range (64–127).
func IsSocialKind(k Kind) bool { return k >= 64 && k <= 127 }

// NewSocialFrame returns a zero frame of social kind k, or nil if k is
// not a social kind this version knows.
func NewSocialFrame(k Kind) Frame {
	switch k {
	case KindFriendRequest:
		return &FriendRequest{}
	case KindFriendAccept:
		return &FriendAccept{}
	case KindFriendDecline:
		return &FriendDecline{}
	case KindFriendRemove:
		return &FriendRemove{}
	case KindFriendBlock:
		return &FriendBlock{}
	case KindFriendUnblock:
		return &FriendUnblock{}
	case KindFriendList:
		return &FriendList{}
	case KindFriendListResult:
		return &FriendListResult{}
	case KindFriendUpdate:
		return &FriendUpdate{}
	case KindGroupCreate:
		return &GroupCreate{}
	case KindGroupResult:
		return &GroupResult{}
	case KindGroupJoin:
		return &GroupJoin{}
	case KindGroupInvite:
		return &GroupInvite{}
	case KindGroupAccept:
		return &GroupAccept{}
	case KindGroupDecline:
		return &GroupDecline{}
	case KindGroupLeave:
		return &GroupLeave{}
	case KindGroupRemove:
		return &GroupRemove{}
	case KindGroupSetRole:
		return &GroupSetRole{}
	case KindGroupMembers:
		return &GroupMembers{}
	case KindGroupMembersResult:
		return &GroupMembersResult{}
	case KindGroupList:
		return &GroupList{}
	case KindGroupListResult:
		return &GroupListResult{}
	case KindGroupUpdate:
		return &GroupUpdate{}
	case KindDirectSend:
		return &DirectSend{}
	case KindGroupSend:
		return &GroupSend{}
	case KindMessageSent:
		return &MessageSent{}
	case KindMessage:
		return &Message{}
	case KindMessageAck:
		return &MessageAck{}
	case KindHistory:
		return &History{}
	case KindHistoryResult:
		return &HistoryResult{}
	case KindSetPresence:
		return &SetPresence{}
	case KindPresenceUpdate:
		return &PresenceUpdate{}
	case KindSignal:
		return &Signal{}
	case KindSignalRecv:
		return &SignalRecv{}
	case KindCallInvite:
		return &CallInvite{}
	case KindCallAccept:
		return &CallAccept{}
	case KindCallEnd:
		return &CallEnd{}
	case KindCallUpdate:
		return &CallUpdate{}
	}
	return nil
}
