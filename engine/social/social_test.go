package social

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/internal/pgtest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/frame"
)

// kcp-go starts process-wide workers on import (the client package links
// it); they are not per-connection and never end.
func TestMain(m *testing.M) {
	conntest.VerifyTestMain(pgtest.M(m))
}

func update(t *testing.T, p *testPeer) frame.FriendUpdate {
	t.Helper()
	return *decodeAs(t, p.take(t, frame.KindFriendUpdate), &frame.FriendUpdate{})
}

func TestFriendRequestAcceptRemoveNotifiesBoth(t *testing.T) {
	e := newEnv(t, Config{}, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.synced(a)
	e.synced(b)

	e.must(a, &frame.FriendRequest{Username: "BOB"}) // case-insensitive
	ua, ub := update(t, a), update(t, b)
	assert.Equal(t, frame.FriendEventRequested, ua.Event)
	assert.Equal(t, frame.FriendOutgoing, ua.Friend.State)
	assert.Equal(t, e.ids["bob"], ua.Friend.UserID)
	assert.Equal(t, "bob", ua.Friend.Username)
	assert.Equal(t, frame.FriendIncoming, ub.Friend.State)
	assert.Equal(t, e.ids["alice"], ub.Friend.UserID)

	// Asking twice is a no-op; the other side may not accept its own.
	e.must(a, &frame.FriendRequest{Username: "bob"})
	_, err := e.call(a, &frame.FriendAccept{UserID: e.ids["bob"]})
	require.ErrorIs(t, err, netcode.CodeRequestNotFound)

	e.must(b, &frame.FriendAccept{UserID: e.ids["alice"]})
	ua, ub = update(t, a), update(t, b)
	assert.Equal(t, frame.FriendEventAccepted, ua.Event)
	assert.Equal(t, frame.FriendAccepted, ua.Friend.State)
	assert.Equal(t, frame.PresenceOnline, ua.Friend.Presence, "accept shows the friend's presence")
	assert.Equal(t, frame.FriendAccepted, ub.Friend.State)

	list := decodeAs(t, e.must(a, &frame.FriendList{}), &frame.FriendListResult{})
	require.Len(t, list.Friends, 1)
	assert.Equal(t, frame.FriendAccepted, list.Friends[0].State)
	assert.Equal(t, frame.PresenceOnline, list.Friends[0].Presence)

	_, err = e.call(a, &frame.FriendRequest{Username: "bob"})
	require.ErrorIs(t, err, netcode.CodeAlreadyFriends)

	e.must(b, &frame.FriendRemove{UserID: e.ids["alice"]})
	ua, ub = update(t, a), update(t, b)
	assert.Equal(t, frame.FriendEventRemoved, ua.Event)
	assert.Equal(t, frame.FriendNone, ua.Friend.State)
	assert.Equal(t, frame.FriendEventRemoved, ub.Event)
	list = decodeAs(t, e.must(a, &frame.FriendList{}), &frame.FriendListResult{})
	assert.Empty(t, list.Friends)
	_, err = e.call(a, &frame.FriendRemove{UserID: e.ids["bob"]})
	require.ErrorIs(t, err, netcode.CodeNotFriends)
}

func TestFriendDeclineBlockUnblock(t *testing.T) {
	e := newEnv(t, Config{}, "alice", "bob", "carol")
	a, b, c := e.open("alice"), e.open("bob"), e.open("carol")

	_, err := e.call(a, &frame.FriendRequest{Username: "nobody"})
	require.ErrorIs(t, err, netcode.CodeUserNotFound)
	_, err = e.call(a, &frame.FriendRequest{Username: "alice"})
	require.ErrorIs(t, err, netcode.CodeSelfAction)

	e.must(c, &frame.FriendRequest{Username: "alice"})
	update(t, c)
	update(t, a)
	e.must(a, &frame.FriendDecline{UserID: e.ids["carol"]})
	ua, uc := update(t, a), update(t, c)
	assert.Equal(t, frame.FriendEventDeclined, ua.Event)
	assert.Equal(t, frame.FriendEventDeclined, uc.Event)
	assert.Equal(t, frame.FriendNone, uc.Friend.State)
	_, err = e.call(a, &frame.FriendDecline{UserID: e.ids["carol"]})
	require.ErrorIs(t, err, netcode.CodeRequestNotFound)

	// A request crossing a pending one makes friends at once.
	e.must(a, &frame.FriendRequest{Username: "carol"})
	update(t, a)
	update(t, c)
	e.must(c, &frame.FriendRequest{Username: "alice"})
	assert.Equal(t, frame.FriendAccepted, update(t, a).Friend.State)
	assert.Equal(t, frame.FriendAccepted, update(t, c).Friend.State)

	e.befriend(a, b)
	e.must(a, &frame.FriendBlock{UserID: e.ids["bob"]})
	ua, ub := update(t, a), update(t, b)
	assert.Equal(t, frame.FriendEventBlocked, ua.Event)
	assert.Equal(t, frame.FriendBlocked, ua.Friend.State)
	assert.Equal(t, frame.FriendNone, ub.Friend.State, "the blocked user only learns the friendship ended")
	assert.Equal(t, frame.FriendEventRemoved, ub.Event)

	_, err = e.call(b, &frame.FriendRequest{Username: "alice"})
	require.ErrorIs(t, err, netcode.CodeBlocked)
	_, err = e.call(b, &frame.DirectSend{ToUserID: e.ids["alice"], Body: "hey"})
	require.ErrorIs(t, err, netcode.CodeBlocked)
	_, err = e.call(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "hey"})
	require.ErrorIs(t, err, netcode.CodeBlocked)
	list := decodeAs(t, e.must(a, &frame.FriendList{}), &frame.FriendListResult{})
	states := map[string]frame.FriendState{}
	for _, f := range list.Friends {
		states[f.Username] = f.State
	}
	assert.Equal(t, map[string]frame.FriendState{"bob": frame.FriendBlocked, "carol": frame.FriendAccepted}, states)

	e.must(a, &frame.FriendUnblock{UserID: e.ids["bob"]})
	assert.Equal(t, frame.FriendEventUnblocked, update(t, a).Event)
	_, err = e.call(a, &frame.FriendUnblock{UserID: e.ids["bob"]})
	require.ErrorIs(t, err, netcode.CodeNotFound)
	e.must(b, &frame.FriendRequest{Username: "alice"})
	assert.Equal(t, frame.FriendIncoming, update(t, a).Friend.State)
	assert.Zero(t, b.count(frame.KindMessage))
}

func TestGuestsAreRefused(t *testing.T) {
	e := newEnv(t, Config{})
	g := newPeer("guest-1", "Guest")
	g.guest = true
	e.svc.PeerOpened(g)
	_, err := e.call(g, &frame.FriendList{})
	require.ErrorIs(t, err, netcode.CodeGuestNotAllowed)
	e.svc.PeerClosed(g)
	assert.Zero(t, e.svc.Stats().OnlineUsers)
}

func TestBadFramesGetCodes(t *testing.T) {
	e := newEnv(t, Config{}, "alice")
	a := e.open("alice")
	ref, err := e.svc.HandleFrame(e.clock.Now(), a, netcode.Reliable, frame.KindDirectSend, []byte{0x93, 96, 0x07, 0xc1})
	assert.Equal(t, uint32(7), ref)
	assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(err))
	b, _ := frame.Marshal(&frame.FriendListResult{Ref: 3})
	ref, err = e.svc.HandleFrame(e.clock.Now(), a, netcode.Reliable, frame.KindFriendListResult, b)
	assert.Equal(t, uint32(3), ref)
	assert.Equal(t, netcode.CodeBadRequest, netcode.CodeOf(err))
	_, err = e.svc.HandleFrame(e.clock.Now(), a, netcode.Reliable, 126, []byte{0x92, 126, 0x01})
	assert.Equal(t, netcode.CodeUnknownKind, netcode.CodeOf(err))
}

func TestDirectMessagesOfflineDeliveredInOrderAndRedelivered(t *testing.T) {
	e := newEnv(t, Config{}, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.befriend(a, b)
	e.close(b)

	var ids []uint64
	for i := range 5 {
		sent := decodeAs(t, e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: fmt.Sprintf("m%d", i)}), &frame.MessageSent{})
		require.NotZero(t, sent.ID)
		assert.Equal(t, e.clock.Now().UnixMicro(), sent.TimeUs)
		ids = append(ids, sent.ID)
	}
	assert.IsIncreasing(t, ids)
	_, err := e.call(a, &frame.DirectSend{ToUserID: e.ids["alice"], Body: "me"})
	require.ErrorIs(t, err, netcode.CodeSelfAction)

	b = e.open("bob")
	for i := range 5 {
		m := e.recvMessage(b)
		assert.Equal(t, ids[i], m.ID)
		assert.Equal(t, fmt.Sprintf("m%d", i), m.Body)
		assert.Equal(t, e.ids["alice"], m.FromUserID)
		assert.Equal(t, e.ids["bob"], m.ToUserID)
		assert.Equal(t, "alice", m.FromName)
	}
	e.synced(b)
	// Acknowledge the first three only, then reconnect: the last two come
	// again with the same ids.
	e.ack(b, ids[2])
	e.close(b)
	b = e.open("bob")
	assert.Equal(t, ids[3], e.recvMessage(b).ID)
	assert.Equal(t, ids[4], e.recvMessage(b).ID)
	e.synced(b)
	assert.Zero(t, b.count(frame.KindMessage))

	// Live delivery to every session of the recipient.
	b2 := e.open("bob")
	e.synced(b2)
	e.recvMessage(b2)
	e.recvMessage(b2)
	sent := decodeAs(t, e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "live"}), &frame.MessageSent{})
	assert.Equal(t, sent.ID, e.recvMessage(b).ID)
	assert.Equal(t, sent.ID, e.recvMessage(b2).ID)
	assert.Zero(t, a.count(frame.KindMessage), "the sending session gets MessageSent, not a copy")

	// The sender's other device shows what the first one sent, once, with
	// the same id; the sending session still gets no copy.
	a2 := e.open("alice")
	e.synced(a2)
	sent = decodeAs(t, e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "from my phone"}), &frame.MessageSent{})
	mine := e.recvMessage(a2)
	assert.Equal(t, sent.ID, mine.ID)
	assert.Equal(t, e.ids["alice"], mine.FromUserID)
	assert.Equal(t, e.ids["bob"], mine.ToUserID)
	assert.Equal(t, "from my phone", mine.Body)
	assert.Equal(t, sent.ID, e.recvMessage(b).ID)
	assert.Equal(t, sent.ID, e.recvMessage(b2).ID)
	assert.Zero(t, a.count(frame.KindMessage), "the sending session gets MessageSent, not a copy")
	assert.Zero(t, a2.count(frame.KindMessage), "exactly one copy to the other device")

	// Sent over the HTTP API (no session): every session of the sender
	// shows it.
	id, _, err := e.svc.SendDirect(context.Background(), e.clock.Now(), e.ids["alice"], "alice", e.ids["bob"], "from a tool")
	require.NoError(t, err)
	assert.Equal(t, id, e.recvMessage(a).ID)
	assert.Equal(t, id, e.recvMessage(a2).ID)
	assert.Equal(t, id, e.recvMessage(b).ID)
}

func TestMessagesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/s.db"
	e := newEnvAt(t, path, Config{}, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.befriend(a, b)
	e.synced(b)
	sent := decodeAs(t, e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "one"}), &frame.MessageSent{})
	assert.Equal(t, sent.ID, e.recvMessage(b).ID)
	e.ack(b, sent.ID)
	e.close(b)
	e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "two"})
	e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "three"})
	e.stop() // flushes the acknowledgement cursor

	e2 := newEnvAt(t, path, Config{}, "alice", "bob")
	b = e2.open("bob")
	assert.Equal(t, "two", e2.recvMessage(b).Body)
	assert.Equal(t, "three", e2.recvMessage(b).Body)
	e2.synced(b)
	assert.Zero(t, b.count(frame.KindMessage))
}

func TestBacklogIsSentInWindowsAdvancedByAcks(t *testing.T) {
	e := newEnv(t, Config{BacklogWindow: 10, MessagesPerSecond: 1000, MessageBurst: 1000}, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.befriend(a, b)
	e.close(b)
	for i := range 25 {
		e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: fmt.Sprint(i)})
	}
	b = e.open("bob")
	var last uint64
	for i := range 10 {
		m := e.recvMessage(b)
		assert.Equal(t, fmt.Sprint(i), m.Body)
		last = m.ID
	}
	// A live message while the backlog waits is held, not sent out of order.
	e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "live"})
	require.Never(t, func() bool { return b.count(frame.KindMessage) > 0 }, 50*time.Millisecond, 5*time.Millisecond)
	e.ack(b, last)
	for i := 10; i < 20; i++ {
		m := e.recvMessage(b)
		assert.Equal(t, fmt.Sprint(i), m.Body)
		last = m.ID
	}
	e.ack(b, last)
	for i := 20; i < 25; i++ {
		assert.Equal(t, fmt.Sprint(i), e.recvMessage(b).Body)
	}
	assert.Equal(t, "live", e.recvMessage(b).Body)
	e.synced(b)
}

func TestGroupsAndGroupMessages(t *testing.T) {
	e := newEnv(t, Config{}, "owner", "ann", "ben", "cat", "dan")
	o, ann, ben, cat, dan := e.open("owner"), e.open("ann"), e.open("ben"), e.open("cat"), e.open("dan")
	for _, p := range []*testPeer{o, ann, ben, cat, dan} {
		e.synced(p)
	}
	_, err := e.call(o, &frame.GroupCreate{Name: "  "})
	require.ErrorIs(t, err, netcode.CodeBadGroupName)
	g := decodeAs(t, e.must(o, &frame.GroupCreate{Name: " raid ", Open: true}), &frame.GroupResult{}).Group
	assert.Equal(t, "raid", g.Name)
	assert.Equal(t, frame.RoleOwner, g.Role)

	e.must(ann, &frame.GroupJoin{GroupID: g.ID})
	e.must(ben, &frame.GroupJoin{GroupID: g.ID})
	_, err = e.call(ben, &frame.GroupJoin{GroupID: g.ID})
	require.ErrorIs(t, err, netcode.CodeAlreadyMember)
	_, err = e.call(ben, &frame.GroupJoin{GroupID: 999})
	require.ErrorIs(t, err, netcode.CodeGroupNotFound)
	ev := decodeAs(t, o.take(t, frame.KindGroupUpdate), &frame.GroupUpdate{})
	assert.Equal(t, frame.GroupEventJoined, ev.Event)
	assert.Equal(t, e.ids["ann"], ev.UserID)

	sent := decodeAs(t, e.must(ann, &frame.GroupSend{GroupID: g.ID, Body: "hello raid"}), &frame.MessageSent{})
	for _, p := range []*testPeer{o, ben} {
		m := e.recvMessage(p)
		assert.Equal(t, sent.ID, m.ID)
		assert.Equal(t, g.ID, m.GroupID)
		assert.Equal(t, "hello raid", m.Body)
	}
	_, err = e.call(cat, &frame.GroupSend{GroupID: g.ID, Body: "let me in"})
	require.ErrorIs(t, err, netcode.CodeNotGroupMember)
	_, err = e.call(cat, &frame.History{GroupID: g.ID})
	require.ErrorIs(t, err, netcode.CodeNotGroupMember)
	for _, p := range []*testPeer{o, ben} {
		assert.Zero(t, p.count(frame.KindMessage), "delivered exactly once")
	}
	assert.Zero(t, ann.count(frame.KindMessage))
	assert.Zero(t, cat.count(frame.KindMessage))

	members := decodeAs(t, e.must(ben, &frame.GroupMembers{GroupID: g.ID}), &frame.GroupMembersResult{})
	assert.Len(t, members.Members, 3)
	for _, m := range members.Members {
		assert.Equal(t, frame.PresenceOnline, m.Presence)
	}

	// Invite-only: join refused, invitation accepted; invites by admins.
	priv := decodeAs(t, e.must(o, &frame.GroupCreate{Name: "officers"}), &frame.GroupResult{}).Group
	_, err = e.call(cat, &frame.GroupJoin{GroupID: priv.ID})
	require.ErrorIs(t, err, netcode.CodeGroupInviteOnly)
	e.must(o, &frame.GroupInvite{GroupID: priv.ID, UserID: e.ids["ann"]})
	inv := decodeAs(t, ann.take(t, frame.KindGroupUpdate), &frame.GroupUpdate{})
	for inv.Event != frame.GroupEventInvited {
		inv = decodeAs(t, ann.take(t, frame.KindGroupUpdate), &frame.GroupUpdate{})
	}
	assert.Equal(t, priv.ID, inv.GroupID)
	gl := decodeAs(t, e.must(ann, &frame.GroupList{}), &frame.GroupListResult{})
	roles := map[uint64]frame.Role{}
	for _, x := range gl.Groups {
		roles[x.ID] = x.Role
	}
	assert.Equal(t, map[uint64]frame.Role{g.ID: frame.RoleMember, priv.ID: frame.RoleInvited}, roles)
	e.must(ann, &frame.GroupAccept{GroupID: priv.ID})
	_, err = e.call(ann, &frame.GroupInvite{GroupID: priv.ID, UserID: e.ids["ben"]})
	require.ErrorIs(t, err, netcode.CodeNotGroupAdmin)
	e.must(o, &frame.GroupSetRole{GroupID: priv.ID, UserID: e.ids["ann"], Role: frame.RoleAdmin})
	e.must(ann, &frame.GroupInvite{GroupID: priv.ID, UserID: e.ids["ben"]})
	e.must(ann, &frame.GroupInvite{GroupID: priv.ID, UserID: e.ids["dan"]})
	e.must(dan, &frame.GroupDecline{GroupID: priv.ID})
	_, err = e.call(dan, &frame.GroupAccept{GroupID: priv.ID})
	require.ErrorIs(t, err, netcode.CodeRequestNotFound)
	e.must(ben, &frame.GroupJoin{GroupID: priv.ID}) // joining with an invitation accepts it

	// Removal: admins remove members, not the owner; members remove nobody.
	_, err = e.call(ben, &frame.GroupRemove{GroupID: priv.ID, UserID: e.ids["ann"]})
	require.ErrorIs(t, err, netcode.CodeNotGroupAdmin)
	_, err = e.call(ann, &frame.GroupRemove{GroupID: priv.ID, UserID: e.ids["owner"]})
	require.ErrorIs(t, err, netcode.CodeNotGroupAdmin)
	e.must(ann, &frame.GroupRemove{GroupID: priv.ID, UserID: e.ids["ben"]})
	_, err = e.call(ben, &frame.GroupSend{GroupID: priv.ID, Body: "still here?"})
	require.ErrorIs(t, err, netcode.CodeNotGroupMember)

	// The owner leaves: the admin takes over.
	e.must(o, &frame.GroupLeave{GroupID: priv.ID})
	gl = decodeAs(t, e.must(ann, &frame.GroupList{}), &frame.GroupListResult{})
	for _, x := range gl.Groups {
		if x.ID == priv.ID {
			assert.Equal(t, frame.RoleOwner, x.Role)
			assert.Equal(t, e.ids["ann"], x.OwnerID)
			assert.Equal(t, uint32(1), x.Members)
		}
	}
	e.must(ann, &frame.GroupLeave{GroupID: priv.ID})
	_, err = e.call(ann, &frame.GroupJoin{GroupID: priv.ID})
	require.ErrorIs(t, err, netcode.CodeGroupNotFound)
}

func TestGroupMessageToOfflineMemberAndJoinWatermark(t *testing.T) {
	e := newEnv(t, Config{}, "owner", "ann", "late")
	o, ann := e.open("owner"), e.open("ann")
	g := decodeAs(t, e.must(o, &frame.GroupCreate{Name: "g", Open: true}), &frame.GroupResult{}).Group
	e.must(ann, &frame.GroupJoin{GroupID: g.ID})
	e.close(ann)
	e.must(o, &frame.GroupSend{GroupID: g.ID, Body: "while you were out"})
	late := e.open("late")
	e.synced(late)
	e.must(late, &frame.GroupJoin{GroupID: g.ID})
	e.must(o, &frame.GroupSend{GroupID: g.ID, Body: "welcome"})
	assert.Equal(t, "welcome", e.recvMessage(late).Body)
	e.close(late)
	late = e.open("late")
	assert.Equal(t, "welcome", e.recvMessage(late).Body, "not acknowledged: delivered again")
	e.synced(late)
	assert.Zero(t, late.count(frame.KindMessage), "nothing from before the join")

	ann = e.open("ann")
	assert.Equal(t, "while you were out", e.recvMessage(ann).Body)
	assert.Equal(t, "welcome", e.recvMessage(ann).Body)

	// Members see the group's whole history.
	h := decodeAs(t, e.must(late, &frame.History{GroupID: g.ID}), &frame.HistoryResult{})
	require.Len(t, h.Messages, 2)
	assert.Equal(t, "while you were out", h.Messages[0].Body)
}

func TestHistoryPaging(t *testing.T) {
	e := newEnv(t, Config{MessagesPerSecond: 1000, MessageBurst: 1000}, "alice", "bob", "carol")
	a, b, c := e.open("alice"), e.open("bob"), e.open("carol")
	e.befriend(a, b)
	e.befriend(a, c)
	for i := range 30 {
		from, to := a, "bob"
		if i%2 == 1 {
			from, to = b, "alice"
		}
		e.must(from, &frame.DirectSend{ToUserID: e.ids[to], Body: fmt.Sprint(i)})
	}
	e.must(a, &frame.DirectSend{ToUserID: e.ids["carol"], Body: "other conversation"})

	var got []string
	before := uint64(0)
	for {
		h := decodeAs(t, e.must(b, &frame.History{UserID: e.ids["alice"], BeforeID: before, Limit: 7}), &frame.HistoryResult{})
		require.NotEmpty(t, h.Messages)
		page := []string{}
		for _, m := range h.Messages {
			page = append(page, m.Body)
		}
		got = append(page, got...)
		before = h.Messages[0].ID
		if !h.More {
			break
		}
	}
	want := make([]string, 30)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	assert.Equal(t, want, got)
	_, err := e.call(b, &frame.History{})
	require.ErrorIs(t, err, netcode.CodeBadRequest)
}

func TestMessageLimits(t *testing.T) {
	e := newEnv(t, Config{MaxMessageBytes: 16, MessagesPerSecond: 1, MessageBurst: 3}, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.befriend(a, b)
	_, err := e.call(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: strings.Repeat("x", 17)})
	require.ErrorIs(t, err, netcode.CodeMessageTooLarge)
	_, err = e.call(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: ""})
	require.ErrorIs(t, err, netcode.CodeBadRequest)
	_, err = e.call(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "\xff\xfe"})
	require.ErrorIs(t, err, netcode.CodeBadRequest)
	for range 3 { // invalid bodies take no token
		e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "ok"})
	}
	_, err = e.call(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "too fast"})
	require.ErrorIs(t, err, netcode.CodeMessageRateLimited)
	e.clock.Advance(time.Second)
	e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "ok again"})
	_, err = e.call(a, &frame.SetPresence{Presence: frame.PresenceOnline, StatusText: strings.Repeat("s", 200)})
	require.ErrorIs(t, err, netcode.CodeBadText)
}

func presenceUpdate(t *testing.T, p *testPeer) frame.PresenceUpdate {
	t.Helper()
	return *decodeAs(t, p.take(t, frame.KindPresenceUpdate), &frame.PresenceUpdate{})
}

func TestPresenceTransitionsWithFakeClock(t *testing.T) {
	grace, away := 5*time.Second, time.Minute
	e := newEnv(t, Config{PresenceGrace: grace, AwayAfter: away, TickInterval: time.Hour}, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.synced(a)
	e.synced(b)
	e.befriend(a, b)
	// Accepting showed each the other's presence.
	assert.Equal(t, frame.PresenceOnline, presenceUpdate(t, a).Presence)
	assert.Equal(t, frame.PresenceOnline, presenceUpdate(t, b).Presence)

	// Idle: away after AwayAfter without activity.
	e.clock.Advance(away / 2)
	e.must(a, &frame.FriendList{}) // activity
	e.svc.Tick(e.clock.Advance(away / 2))
	p := presenceUpdate(t, a)
	assert.Equal(t, e.ids["bob"], p.UserID)
	assert.Equal(t, frame.PresenceAway, p.Presence)
	assert.Zero(t, b.count(frame.KindPresenceUpdate), "alice was active: still online")
	e.svc.Tick(e.clock.Advance(away / 2))
	assert.Equal(t, frame.PresenceAway, presenceUpdate(t, b).Presence)

	// Activity brings alice back; the status text travels with it.
	e.must(a, &frame.SetPresence{Presence: frame.PresenceOnline, StatusText: "in a match"})
	p = presenceUpdate(t, b)
	assert.Equal(t, frame.PresenceOnline, p.Presence)
	assert.Equal(t, "in a match", p.StatusText)

	// A quick reconnect within the grace period does not flap.
	e.close(a)
	e.svc.Tick(e.clock.Advance(grace / 2))
	a = e.open("alice")
	e.synced(a)
	e.svc.Tick(e.clock.Advance(grace))
	e.svc.Tick(e.clock.Advance(grace))
	assert.Zero(t, b.count(frame.KindPresenceUpdate), "no offline, no online again")

	// Leaving for longer than the grace period shows offline.
	e.close(a)
	e.svc.Tick(e.clock.Advance(grace - time.Millisecond))
	assert.Zero(t, b.count(frame.KindPresenceUpdate))
	e.svc.Tick(e.clock.Advance(time.Millisecond))
	p = presenceUpdate(t, b)
	assert.Equal(t, frame.PresenceOffline, p.Presence)
	assert.Empty(t, p.StatusText)

	// Alice logs in again: bob sees online with her stored status; alice
	// is shown bob's presence right after login.
	e.clock.Advance(time.Minute)
	a = e.open("alice")
	e.synced(a)
	p = presenceUpdate(t, b)
	assert.Equal(t, frame.PresenceOnline, p.Presence)
	assert.Equal(t, "in a match", p.StatusText)
	p = presenceUpdate(t, a)
	assert.Equal(t, e.ids["bob"], p.UserID)
	assert.Equal(t, frame.PresenceAway, p.Presence)

	// Several sessions: online while any is open.
	a2 := e.open("alice")
	e.synced(a2)
	e.close(a)
	e.svc.Tick(e.clock.Advance(2 * grace))
	assert.Zero(t, b.count(frame.KindPresenceUpdate))
	pv, _ := e.svc.Presence(e.ids["alice"])
	assert.Equal(t, frame.PresenceOnline, pv)

	// Set away by the user.
	e.must(a2, &frame.SetPresence{Presence: frame.PresenceAway})
	assert.Equal(t, frame.PresenceAway, presenceUpdate(t, b).Presence)
	// The friend list of a friend who logs in later shows it.
	e.close(b)
	e.svc.Tick(e.clock.Advance(2 * grace))
	b = e.open("bob")
	e.synced(b)
	list := decodeAs(t, e.must(b, &frame.FriendList{}), &frame.FriendListResult{})
	require.Len(t, list.Friends, 1)
	assert.Equal(t, frame.PresenceAway, list.Friends[0].Presence)
	e.close(b)
	e.close(a2)
	e.svc.Tick(e.clock.Advance(2 * grace))
	assert.Zero(t, e.svc.Stats().OnlineUsers)
	b = e.open("bob")
	e.synced(b)
	list = decodeAs(t, e.must(b, &frame.FriendList{}), &frame.FriendListResult{})
	assert.Equal(t, frame.PresenceOffline, list.Friends[0].Presence)
	assert.Equal(t, e.clock.Now().Add(-2*grace).UnixMicro(), list.Friends[0].LastSeenUs)
}

func TestSlowSessionPendingOverflowReadsBack(t *testing.T) {
	e := newEnv(t, Config{BacklogWindow: 4, PendingLimit: 2, MessagesPerSecond: 1000, MessageBurst: 1000}, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.befriend(a, b)
	e.close(b)
	for i := range 4 {
		e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: fmt.Sprint(i)})
	}
	b = e.open("bob")
	var last uint64
	for range 4 {
		last = e.recvMessage(b).ID
	}
	for i := 4; i < 9; i++ { // beyond the pending limit while paused
		e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: fmt.Sprint(i)})
	}
	assert.NotZero(t, e.svc.Stats().PendingDrops)
	e.ack(b, last)
	for i := 4; i < 8; i++ {
		m := e.recvMessage(b)
		assert.Equal(t, fmt.Sprint(i), m.Body)
		last = m.ID
	}
	e.ack(b, last)
	assert.Equal(t, "8", e.recvMessage(b).Body)
	e.synced(b)
	e.must(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "9"})
	assert.Equal(t, "9", e.recvMessage(b).Body)
}
