package frame

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func socialSamples() map[string]Frame {
	friend := Friend{UserID: "u-2", Username: "bob", DisplayName: "Bob", State: FriendAccepted, Presence: PresenceAway, StatusText: "brb", LastSeenUs: 1_700_000_000_000_000}
	msg := ChatMessage{ID: 42, GroupID: 7, FromUserID: "u-1", TimeUs: 1_700_000_000_000_001, Body: "hello, group", FromName: "Ada"}
	dm := ChatMessage{ID: 43, FromUserID: "u-1", ToUserID: "u-2", TimeUs: 1_700_000_000_000_002, Body: "hi bob", FromName: "Ada"}
	group := Group{ID: 7, Name: "raiders", Open: true, Role: RoleOwner, Members: 3, OwnerID: "u-1"}
	return map[string]Frame{
		"friend_request":   &FriendRequest{Ref: 1, Username: "bob"},
		"friend_accept":    &FriendAccept{Ref: 2, UserID: "u-1"},
		"friend_decline":   &FriendDecline{Ref: 3, UserID: "u-1"},
		"friend_remove":    &FriendRemove{Ref: 4, UserID: "u-1"},
		"friend_block":     &FriendBlock{Ref: 5, UserID: "u-1"},
		"friend_unblock":   &FriendUnblock{Ref: 6, UserID: "u-1"},
		"friend_list":      &FriendList{Ref: 7},
		"friend_list_res":  &FriendListResult{Ref: 7, Friends: []Friend{friend, {UserID: "u-3", Username: "cy", State: FriendIncoming}}},
		"friend_update":    &FriendUpdate{Event: FriendEventAccepted, Friend: friend},
		"group_create":     &GroupCreate{Ref: 8, Name: "raiders", Open: true},
		"group_result":     &GroupResult{Ref: 8, Group: group},
		"group_join":       &GroupJoin{Ref: 9, GroupID: 7},
		"group_invite":     &GroupInvite{Ref: 10, GroupID: 7, UserID: "u-2"},
		"group_accept":     &GroupAccept{Ref: 11, GroupID: 7},
		"group_decline":    &GroupDecline{Ref: 12, GroupID: 7},
		"group_leave":      &GroupLeave{Ref: 13, GroupID: 7},
		"group_remove":     &GroupRemove{Ref: 14, GroupID: 7, UserID: "u-2"},
		"group_set_role":   &GroupSetRole{Ref: 15, GroupID: 7, UserID: "u-2", Role: RoleAdmin},
		"group_members":    &GroupMembers{Ref: 16, GroupID: 7, AfterUserID: "u-1", Limit: 100},
		"group_members_r":  &GroupMembersResult{Ref: 16, GroupID: 7, Members: []Member{{UserID: "u-1", DisplayName: "Ada", Role: RoleOwner, Presence: PresenceOnline}}, More: true},
		"group_list":       &GroupList{Ref: 17, AfterGroupID: 5},
		"group_list_res":   &GroupListResult{Ref: 17, Groups: []Group{group, {ID: 9, Name: "x", Role: RoleInvited}}, More: true},
		"group_update":     &GroupUpdate{Event: GroupEventRemoved, GroupID: 7, GroupName: "raiders", UserID: "u-2", ActorID: "u-1", Role: RoleMember},
		"direct_send":      &DirectSend{Ref: 18, ToUserID: "u-2", Body: "hi bob"},
		"group_send":       &GroupSend{Ref: 19, GroupID: 7, Body: "hello, group"},
		"message_sent":     &MessageSent{Ref: 19, ID: 42, TimeUs: 1_700_000_000_000_001},
		"message":          &Message{ChatMessage: msg},
		"message_dm":       &Message{ChatMessage: dm},
		"message_ack":      &MessageAck{Ref: 20, UpToID: 43},
		"history":          &History{Ref: 21, GroupID: 7, BeforeID: 100, Limit: 50},
		"history_result":   &HistoryResult{Ref: 21, Messages: []ChatMessage{msg, dm}, More: true},
		"set_presence":     &SetPresence{Ref: 22, Presence: PresenceAway, StatusText: "in a match"},
		"presence_update":  &PresenceUpdate{UserID: "u-1", Presence: PresenceOnline, StatusText: "in a match", LastSeenUs: 5},
		"history_empty":    &HistoryResult{Ref: 23},
		"friend_list_none": &FriendListResult{Ref: 24},
	}
}

func TestSocialRoundTrip(t *testing.T) {
	for name, f := range socialSamples() {
		t.Run(name, func(t *testing.T) {
			require.True(t, IsSocialKind(f.Kind()))
			b, err := Marshal(f)
			require.NoError(t, err)
			k, ref, err := PeekRef(b)
			require.NoError(t, err)
			assert.Equal(t, f.Kind(), k)
			got := NewSocialFrame(k)
			require.NotNil(t, got)
			require.NoError(t, Unmarshal(b, got))
			assert.Equal(t, f, got)
			if r, ok := f.(Refer); ok {
				r.SetRef(99)
				b, err = Marshal(r)
				require.NoError(t, err)
				_, ref, err = PeekRef(b)
				require.NoError(t, err)
				assert.Equal(t, uint32(99), ref)
			}
			_ = ref
		})
	}
}

func TestSocialKindsDistinct(t *testing.T) {
	seen := map[Kind]string{}
	for name, f := range socialSamples() {
		if other, ok := seen[f.Kind()]; ok && !strings.HasPrefix(name, strings.Split(other, "_")[0]) {
			t.Fatalf("%s and %s share kind %d", name, other, f.Kind())
		}
		seen[f.Kind()] = name
	}
	for k := Kind(0); k < 128; k++ {
		if NewSocialFrame(k) != nil {
			assert.True(t, IsSocialKind(k), "kind %d", k)
			assert.Equal(t, k, NewSocialFrame(k).Kind())
		}
	}
}

func TestSocialDecodeLimits(t *testing.T) {
	big := strings.Repeat("x", MaxMessageBody+1)
	b, err := Marshal(&DirectSend{Ref: 1, ToUserID: "u", Body: big})
	require.NoError(t, err)
	var d DirectSend
	err = Unmarshal(b, &d)
	require.Error(t, err)
	assert.Equal(t, netcode.CodeFrameTooLarge, netcode.CodeOf(err))

	b, err = Marshal(&SetPresence{Ref: 1, StatusText: strings.Repeat("s", MaxStatusText+1)})
	require.NoError(t, err)
	var sp SetPresence
	assert.Equal(t, netcode.CodeFrameTooLarge, netcode.CodeOf(Unmarshal(b, &sp)))

	// A list header claiming more entries than bytes is refused before
	// allocating.
	bad := []byte{0x93, byte(KindFriendListResult), 0x01, 0xdd, 0x00, 0x00, 0x03, 0xff}
	var fl FriendListResult
	err = Unmarshal(bad, &fl)
	require.Error(t, err)
	assert.Contains(t, []netcode.Code{netcode.CodeBadFrame, netcode.CodeFrameTooLarge}, netcode.CodeOf(err))

	// Older peers may send fewer fields; newer ones more.
	short := []byte{0x93, byte(KindHistory), 0x05, 0x07}
	var h History
	require.NoError(t, Unmarshal(short, &h))
	assert.Equal(t, History{Ref: 5, GroupID: 7}, h)
	long := []byte{0x94, byte(KindGroupJoin), 0x05, 0x07, 0xc0}
	var j GroupJoin
	require.NoError(t, Unmarshal(long, &j))
	assert.Equal(t, GroupJoin{Ref: 5, GroupID: 7}, j)
}

func TestSocialEncodeAllocatesNothing(t *testing.T) {
	enc := NewEncoder()
	for name, f := range socialSamples() {
		_, err := enc.Encode(f)
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := enc.Encode(f); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, name)
	}
}

// fuzzSocial is the body shared by the per-decoder fuzz targets: whatever
// the bytes, decoding returns a coded error or a frame that re-encodes to
// bytes that decode to the same frame.
func fuzzSocial(t *testing.T, k Kind, b []byte) {
	fr := NewSocialFrame(k)
	if err := Unmarshal(b, fr); err != nil {
		code := netcode.CodeOf(err)
		require.Contains(t, []netcode.Code{netcode.CodeBadFrame, netcode.CodeFrameTooLarge}, code, "%v", err)
		return
	}
	b2, err := Marshal(fr)
	require.NoError(t, err)
	again := NewSocialFrame(k)
	require.NoError(t, Unmarshal(b2, again))
	require.Equal(t, fr, again)
}

func seedSocial(f *testing.F, k Kind) {
	for _, fr := range socialSamples() {
		if fr.Kind() == k {
			b, err := Marshal(fr)
			require.NoError(f, err)
			f.Add(b)
			if len(b) > 3 {
				f.Add(b[:len(b)-1])
			}
		}
	}
	f.Add([]byte{0x92, byte(k), 0x00})
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff, byte(k)})
}

// FuzzSocialFrames drives every social decoder from one corpus: the kind
// is taken from the input.
func FuzzSocialFrames(f *testing.F) {
	for _, fr := range socialSamples() {
		b, err := Marshal(fr)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, _, err := PeekRef(b)
		if err != nil || NewSocialFrame(k) == nil {
			return
		}
		fuzzSocial(t, k, b)
	})
}

func fuzzKind(f *testing.F, k Kind) {
	seedSocial(f, k)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzSocial(t, k, b) })
}

// One target per decoder, so that `go test -fuzz` can focus on one.
func FuzzFriendRequest(f *testing.F)      { fuzzKind(f, KindFriendRequest) }
func FuzzFriendAccept(f *testing.F)       { fuzzKind(f, KindFriendAccept) }
func FuzzFriendDecline(f *testing.F)      { fuzzKind(f, KindFriendDecline) }
func FuzzFriendRemove(f *testing.F)       { fuzzKind(f, KindFriendRemove) }
func FuzzFriendBlock(f *testing.F)        { fuzzKind(f, KindFriendBlock) }
func FuzzFriendUnblock(f *testing.F)      { fuzzKind(f, KindFriendUnblock) }
func FuzzFriendList(f *testing.F)         { fuzzKind(f, KindFriendList) }
func FuzzFriendListResult(f *testing.F)   { fuzzKind(f, KindFriendListResult) }
func FuzzFriendUpdate(f *testing.F)       { fuzzKind(f, KindFriendUpdate) }
func FuzzGroupCreate(f *testing.F)        { fuzzKind(f, KindGroupCreate) }
func FuzzGroupResult(f *testing.F)        { fuzzKind(f, KindGroupResult) }
func FuzzGroupJoin(f *testing.F)          { fuzzKind(f, KindGroupJoin) }
func FuzzGroupInvite(f *testing.F)        { fuzzKind(f, KindGroupInvite) }
func FuzzGroupAccept(f *testing.F)        { fuzzKind(f, KindGroupAccept) }
func FuzzGroupDecline(f *testing.F)       { fuzzKind(f, KindGroupDecline) }
func FuzzGroupLeave(f *testing.F)         { fuzzKind(f, KindGroupLeave) }
func FuzzGroupRemove(f *testing.F)        { fuzzKind(f, KindGroupRemove) }
func FuzzGroupSetRole(f *testing.F)       { fuzzKind(f, KindGroupSetRole) }
func FuzzGroupMembers(f *testing.F)       { fuzzKind(f, KindGroupMembers) }
func FuzzGroupMembersResult(f *testing.F) { fuzzKind(f, KindGroupMembersResult) }
func FuzzGroupList(f *testing.F)          { fuzzKind(f, KindGroupList) }
func FuzzGroupListResult(f *testing.F)    { fuzzKind(f, KindGroupListResult) }
func FuzzGroupUpdate(f *testing.F)        { fuzzKind(f, KindGroupUpdate) }
func FuzzDirectSend(f *testing.F)         { fuzzKind(f, KindDirectSend) }
func FuzzGroupSend(f *testing.F)          { fuzzKind(f, KindGroupSend) }
func FuzzMessageSent(f *testing.F)        { fuzzKind(f, KindMessageSent) }
func FuzzMessage(f *testing.F)            { fuzzKind(f, KindMessage) }
func FuzzMessageAck(f *testing.F)         { fuzzKind(f, KindMessageAck) }
func FuzzHistory(f *testing.F)            { fuzzKind(f, KindHistory) }
func FuzzHistoryResult(f *testing.F)      { fuzzKind(f, KindHistoryResult) }
func FuzzSetPresence(f *testing.F)        { fuzzKind(f, KindSetPresence) }
func FuzzPresenceUpdate(f *testing.F)     { fuzzKind(f, KindPresenceUpdate) }

func BenchmarkSocialMessageEncode(b *testing.B) {
	enc := NewEncoder()
	m := &Message{ChatMessage: ChatMessage{ID: 1, GroupID: 7, FromUserID: "u-1", TimeUs: 1, Body: strings.Repeat("x", 128), FromName: "Ada"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}
