package social_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// End-to-end tests: a whole server (servertest) on loopback with its
// SQLite file, Go clients over TCP.

const wait = 10 * time.Second

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func startServer(t *testing.T, dataDir string, sc social.Config) *server.Server {
	t.Helper()
	return servertest.Start(t, server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		DataDir:    dataDir,
		Accounts:   accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}},
		Social:     sc,
	})
}

type account struct {
	Token  string `json:"token"`
	UserID string `json:"user_id"`
	Name   string
}

func register(t *testing.T, srv *server.Server, name string) account {
	t.Helper()
	var a account
	require.NoError(t, client.PostJSON(ctxT(t), nil, srv.HTTPURL()+"/v1/auth/register",
		map[string]string{"username": name, "password": "correct horse battery"}, &a))
	a.Name = name
	return a
}

func login(t *testing.T, srv *server.Server, a account) account {
	t.Helper()
	require.NoError(t, client.PostJSON(ctxT(t), nil, srv.HTTPURL()+"/v1/auth/login",
		map[string]string{"username": a.Name, "password": "correct horse battery"}, &a))
	return a
}

// session is a connected client that records its pushes.
type session struct {
	*client.Client
	mu     sync.Mutex
	msgs   []client.Message
	used   []bool
	notify chan struct{}
}

func dial(t *testing.T, srv *server.Server, token string) *session {
	t.Helper()
	s := &session{notify: make(chan struct{}, 1)}
	c, err := client.Dial(ctxT(t), client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: token, Handler: s.handle})
	require.NoError(t, err)
	s.Client = c
	t.Cleanup(func() { _ = c.Close() })
	// The engine sends Welcome just before it tells the services about the
	// session; one round trip makes sure the social service knows it, so
	// no push to it can be missed.
	_, err = c.Ping(ctxT(t))
	require.NoError(t, err)
	return s
}

func (s *session) handle(m client.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.used = append(s.used, false)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// take returns the first unread push of kind k that satisfies match.
func (s *session) take(t *testing.T, k frame.Kind, match func(frame.Frame) bool) frame.Frame {
	t.Helper()
	deadline := time.After(wait)
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if s.used[i] || m.Kind != k {
				continue
			}
			f, ok, err := client.DecodeSocial(m)
			require.True(t, ok)
			require.NoError(t, err)
			if match == nil || match(f) {
				s.used[i] = true
				s.mu.Unlock()
				return f
			}
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-deadline:
			t.Fatalf("no push of kind %d within %v", k, wait)
		}
	}
}

func (s *session) count(k frame.Kind, match func(frame.Frame) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i, m := range s.msgs {
		if !s.used[i] && m.Kind == k {
			f, _, _ := client.DecodeSocial(m)
			if match == nil || match(f) {
				n++
			}
		}
	}
	return n
}

// barrier makes a round trip: every push queued before it has arrived.
func (s *session) barrier(t *testing.T) {
	t.Helper()
	_, err := s.Groups(ctxT(t))
	require.NoError(t, err)
}

func (s *session) friendUpdate(t *testing.T) *frame.FriendUpdate {
	t.Helper()
	return s.take(t, frame.KindFriendUpdate, nil).(*frame.FriendUpdate)
}

func (s *session) message(t *testing.T) *frame.Message {
	t.Helper()
	return s.take(t, frame.KindMessage, nil).(*frame.Message)
}

func befriend(t *testing.T, a, b *session, ua, ub account) {
	t.Helper()
	require.NoError(t, a.RequestFriend(ctxT(t), ub.Name))
	require.NoError(t, b.AcceptFriend(ctxT(t), ua.UserID))
	for _, s := range []*session{a, b} {
		assert.Equal(t, frame.FriendEventRequested, s.friendUpdate(t).Event)
		assert.Equal(t, frame.FriendEventAccepted, s.friendUpdate(t).Event)
	}
}

func TestE2EFriendFlowsNotifyBothSides(t *testing.T) {
	srv := startServer(t, "", social.Config{})
	ua, ub, uc := register(t, srv, "alice"), register(t, srv, "bob"), register(t, srv, "carol")
	a, b, c := dial(t, srv, ua.Token), dial(t, srv, ub.Token), dial(t, srv, uc.Token)
	ctx := ctxT(t)

	require.NoError(t, a.RequestFriend(ctx, "bob"))
	fa, fb := a.friendUpdate(t), b.friendUpdate(t)
	assert.Equal(t, frame.FriendOutgoing, fa.Friend.State)
	assert.Equal(t, ub.UserID, fa.Friend.UserID)
	assert.Equal(t, frame.FriendIncoming, fb.Friend.State)
	assert.Equal(t, "alice", fb.Friend.Username)

	require.NoError(t, b.AcceptFriend(ctx, ua.UserID))
	fa, fb = a.friendUpdate(t), b.friendUpdate(t)
	assert.Equal(t, frame.FriendEventAccepted, fa.Event)
	assert.Equal(t, frame.FriendAccepted, fa.Friend.State)
	assert.Equal(t, frame.PresenceOnline, fa.Friend.Presence)
	assert.Equal(t, frame.FriendAccepted, fb.Friend.State)
	friends, err := a.Friends(ctx)
	require.NoError(t, err)
	require.Len(t, friends, 1)
	assert.Equal(t, frame.PresenceOnline, friends[0].Presence)

	// Decline.
	require.NoError(t, c.RequestFriend(ctx, "alice"))
	c.friendUpdate(t)
	a.friendUpdate(t)
	require.NoError(t, a.DeclineFriend(ctx, uc.UserID))
	assert.Equal(t, frame.FriendEventDeclined, a.friendUpdate(t).Event)
	assert.Equal(t, frame.FriendEventDeclined, c.friendUpdate(t).Event)
	err = a.DeclineFriend(ctx, uc.UserID)
	require.ErrorIs(t, err, netcode.CodeRequestNotFound)

	// Remove.
	require.NoError(t, b.RemoveFriend(ctx, ua.UserID))
	assert.Equal(t, frame.FriendEventRemoved, a.friendUpdate(t).Event)
	assert.Equal(t, frame.FriendEventRemoved, b.friendUpdate(t).Event)
	_, err = a.SendDirect(ctx, ub.UserID, "still friends?")
	require.ErrorIs(t, err, netcode.CodeNotFriends)

	// Block.
	befriend(t, a, b, ua, ub)
	require.NoError(t, a.BlockUser(ctx, ub.UserID))
	fa, fb = a.friendUpdate(t), b.friendUpdate(t)
	assert.Equal(t, frame.FriendBlocked, fa.Friend.State)
	assert.Equal(t, frame.FriendNone, fb.Friend.State)
	require.ErrorIs(t, b.RequestFriend(ctx, "alice"), netcode.CodeBlocked)
	_, err = b.SendDirect(ctx, ua.UserID, "let me talk")
	require.ErrorIs(t, err, netcode.CodeBlocked)
	require.NoError(t, a.UnblockUser(ctx, ub.UserID))
	assert.Equal(t, frame.FriendEventUnblocked, a.friendUpdate(t).Event)
	require.NoError(t, b.RequestFriend(ctx, "alice"))
	assert.Equal(t, frame.FriendIncoming, a.friendUpdate(t).Friend.State)
}

func TestE2EOfflineDirectMessagesInOrderAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, social.Config{})
	ua, ub := register(t, srv, "alice"), register(t, srv, "bob")
	a, b := dial(t, srv, ua.Token), dial(t, srv, ub.Token)
	befriend(t, a, b, ua, ub)
	require.NoError(t, b.Close())

	// Offline delivery on the next login, in order.
	ctx := ctxT(t)
	var ids []uint64
	for i := range 3 {
		sent, err := a.SendDirect(ctx, ub.UserID, fmt.Sprintf("first-%d", i))
		require.NoError(t, err)
		ids = append(ids, sent.ID)
	}
	b = dial(t, srv, ub.Token)
	for i := range 3 {
		m := b.message(t)
		assert.Equal(t, ids[i], m.ID)
		assert.Equal(t, fmt.Sprintf("first-%d", i), m.Body)
		assert.Equal(t, ua.UserID, m.FromUserID)
	}
	require.NoError(t, b.AckMessages(ids[2]))
	b.barrier(t)
	require.NoError(t, b.Close())

	// Sent while bob is offline, then the server process is replaced.
	for i := range 3 {
		sent, err := a.SendDirect(ctx, ub.UserID, fmt.Sprintf("second-%d", i))
		require.NoError(t, err)
		ids = append(ids, sent.ID)
	}
	require.NoError(t, a.Close())
	sctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, srv.Shutdown(sctx))

	srv = startServer(t, dir, social.Config{})
	ub = login(t, srv, ub)
	b = dial(t, srv, ub.Token)
	var inbox client.Inbox
	for i := range 3 {
		m := b.message(t)
		require.True(t, inbox.Accept(m))
		assert.Equal(t, ids[3+i], m.ID)
		assert.Equal(t, fmt.Sprintf("second-%d", i), m.Body)
	}
	b.barrier(t)
	assert.Zero(t, b.count(frame.KindMessage, nil), "acknowledged messages are not delivered again")
	// History survived too.
	msgs, more, err := b.History(ctxT(t), 0, ua.UserID, 0, 0)
	require.NoError(t, err)
	assert.False(t, more)
	require.Len(t, msgs, 6)
	assert.Equal(t, "first-0", msgs[0].Body)
	assert.Equal(t, "second-2", msgs[5].Body)
}

func TestE2ERedeliveryAfterReconnectKeepsIDs(t *testing.T) {
	srv := startServer(t, "", social.Config{})
	ua, ub := register(t, srv, "alice"), register(t, srv, "bob")
	a, b := dial(t, srv, ua.Token), dial(t, srv, ub.Token)
	befriend(t, a, b, ua, ub)
	ctx := ctxT(t)
	var inbox client.Inbox
	s1, err := a.SendDirect(ctx, ub.UserID, "acked")
	require.NoError(t, err)
	m := b.message(t)
	require.True(t, inbox.Accept(m))
	require.NoError(t, b.AckMessages(m.ID))
	// Acknowledgements are not answered: a request on the same per-user
	// queue returns once the ack before it was taken. (An ack still in
	// flight when the session drops is redelivered, and the client's
	// Inbox drops the duplicate: at-least-once.)
	b.barrier(t)
	s2, err := a.SendDirect(ctx, ub.UserID, "not acked")
	require.NoError(t, err)
	m = b.message(t)
	require.True(t, inbox.Accept(m))
	assert.Equal(t, s2.ID, m.ID)
	require.NoError(t, b.Close()) // without acknowledging s2

	b = dial(t, srv, ub.Token)
	m = b.message(t)
	assert.Equal(t, s2.ID, m.ID, "the same id again")
	assert.Equal(t, "not acked", m.Body)
	assert.False(t, inbox.Accept(m), "the client drops it as a duplicate")
	b.barrier(t)
	assert.Zero(t, b.count(frame.KindMessage, nil))
	assert.Less(t, s1.ID, s2.ID)
}

func TestE2EGroupMessageReachesEveryOnlineMemberOnce(t *testing.T) {
	srv := startServer(t, "", social.Config{})
	users := make([]account, 5)
	sess := make([]*session, 5)
	for i := range users {
		users[i] = register(t, srv, fmt.Sprintf("user%d", i))
		sess[i] = dial(t, srv, users[i].Token)
	}
	ctx := ctxT(t)
	owner, outsider := sess[0], sess[4]
	g, err := owner.CreateGroup(ctx, "squad", frame.GroupInviteOnly)
	require.NoError(t, err)
	require.ErrorIs(t, sess[1].JoinGroup(ctx, g.ID), netcode.CodeGroupInviteOnly)
	for i := 1; i <= 3; i++ {
		require.NoError(t, owner.InviteToGroup(ctx, g.ID, users[i].UserID))
		inv := sess[i].take(t, frame.KindGroupUpdate, nil).(*frame.GroupUpdate)
		assert.Equal(t, frame.GroupEventInvited, inv.Event)
		require.NoError(t, sess[i].AcceptGroupInvite(ctx, g.ID))
	}
	members, more, err := sess[2].GroupMembers(ctx, g.ID, "", 0)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Len(t, members, 4)

	// The sender has a second device connected: it gets the message too.
	phone := dial(t, srv, users[1].Token)
	phone.barrier(t)
	sent, err := sess[1].SendGroup(ctx, g.ID, "gg")
	require.NoError(t, err)
	_, err = outsider.SendGroup(ctx, g.ID, "hi?")
	require.ErrorIs(t, err, netcode.CodeNotGroupMember)
	_, _, err = outsider.History(ctx, g.ID, "", 0, 0)
	require.ErrorIs(t, err, netcode.CodeNotGroupMember)
	for _, i := range []int{0, 2, 3} {
		m := sess[i].message(t)
		assert.Equal(t, sent.ID, m.ID)
		assert.Equal(t, g.ID, m.GroupID)
		assert.Equal(t, "gg", m.Body)
	}
	mine := phone.message(t)
	assert.Equal(t, sent.ID, mine.ID)
	assert.Equal(t, users[1].UserID, mine.FromUserID)
	for _, s := range append(sess, phone) {
		s.barrier(t)
		assert.Zero(t, s.count(frame.KindMessage, nil), "exactly once, nothing to the sending session or the outsider")
	}

	// Removal by the owner: the removed member is told and refused.
	require.NoError(t, owner.RemoveGroupMember(ctx, g.ID, users[3].UserID))
	ev := sess[3].take(t, frame.KindGroupUpdate, func(f frame.Frame) bool {
		return f.(*frame.GroupUpdate).Event == frame.GroupEventRemoved
	}).(*frame.GroupUpdate)
	assert.Equal(t, users[0].UserID, ev.ActorID)
	_, err = sess[3].SendGroup(ctx, g.ID, "wait")
	require.ErrorIs(t, err, netcode.CodeNotGroupMember)
	require.NoError(t, sess[2].LeaveGroup(ctx, g.ID))
	groups, err := sess[2].Groups(ctx)
	require.NoError(t, err)
	assert.Empty(t, groups)
}

func presenceOf(user string, p frame.Presence) func(frame.Frame) bool {
	return func(f frame.Frame) bool {
		u := f.(*frame.PresenceUpdate)
		return u.UserID == user && u.Presence == p
	}
}

func TestE2EPresenceOnlineAwayOfflineWithoutFlapping(t *testing.T) {
	const grace, away = 600 * time.Millisecond, time.Second
	srv := startServer(t, "", social.Config{PresenceGrace: grace, AwayAfter: away, TickInterval: 20 * time.Millisecond})
	ua, ub := register(t, srv, "alice"), register(t, srv, "bob")
	a, b := dial(t, srv, ua.Token), dial(t, srv, ub.Token)
	befriend(t, a, b, ua, ub) // bob saw alice online in the accept update

	// Idle: away.
	b.take(t, frame.KindPresenceUpdate, presenceOf(ua.UserID, frame.PresenceAway))
	// Active again: online, with a status text.
	require.NoError(t, a.SetPresence(ctxT(t), frame.PresenceOnline, "in queue"))
	b.take(t, frame.KindPresenceUpdate, func(f frame.Frame) bool {
		p := f.(*frame.PresenceUpdate)
		return p.UserID == ua.UserID && p.Presence == frame.PresenceOnline && p.StatusText == "in queue"
	})

	// A quick reconnect does not show offline.
	require.NoError(t, a.Close())
	a = dial(t, srv, ua.Token)
	offline := presenceOf(ua.UserID, frame.PresenceOffline)
	assert.Never(t, func() bool { return b.count(frame.KindPresenceUpdate, offline) > 0 }, 3*grace, 20*time.Millisecond)

	// Gone for longer than the grace period: offline.
	require.NoError(t, a.Close())
	b.take(t, frame.KindPresenceUpdate, offline)
	// Back: bob sees online, and alice sees bob's presence right after login.
	a = dial(t, srv, ua.Token)
	b.take(t, frame.KindPresenceUpdate, presenceOf(ua.UserID, frame.PresenceOnline))
	a.take(t, frame.KindPresenceUpdate, func(f frame.Frame) bool { return f.(*frame.PresenceUpdate).UserID == ub.UserID })
	friends, err := a.Friends(ctxT(t))
	require.NoError(t, err)
	require.Len(t, friends, 1)
	assert.NotEqual(t, frame.PresenceOffline, friends[0].Presence)
}

func TestE2EGuestsRefused(t *testing.T) {
	srv := startServer(t, "", social.Config{})
	tok, err := client.GuestToken(ctxT(t), srv.HTTPURL(), "visitor")
	require.NoError(t, err)
	g := dial(t, srv, tok)
	_, err = g.Friends(ctxT(t))
	require.ErrorIs(t, err, netcode.CodeGuestNotAllowed)
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, srv.HTTPURL()+"/v1/social/friends", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	err = client.DoJSON(nil, req, nil)
	require.ErrorIs(t, err, netcode.CodeGuestNotAllowed)
}

// httpDo calls the social HTTP API as a.
func httpDo(t *testing.T, srv *server.Server, a account, method, path string, body string, out any) error {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(ctxT(t), method, srv.HTTPURL()+path, r)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.Token)
	return client.DoJSON(nil, req, out)
}

func TestE2EHTTPAPI(t *testing.T) {
	srv := startServer(t, "", social.Config{})
	ua, ub := register(t, srv, "alice"), register(t, srv, "bob")
	b := dial(t, srv, ub.Token) // bob is online: HTTP actions push to him
	require.NoError(t, httpDo(t, srv, ua, "POST", "/v1/social/friends/requests", `{"username":"bob"}`, nil))
	assert.Equal(t, frame.FriendIncoming, b.friendUpdate(t).Friend.State)
	require.NoError(t, httpDo(t, srv, ub, "POST", "/v1/social/friends/"+ua.UserID+"/accept", "", nil))
	var friends struct{ Friends []social.FriendJSON }
	require.NoError(t, httpDo(t, srv, ua, "GET", "/v1/social/friends", "", &friends))
	require.Len(t, friends.Friends, 1)
	assert.Equal(t, "friend", friends.Friends[0].State)
	assert.Equal(t, "online", friends.Friends[0].Presence)

	var sent struct {
		ID uint64 `json:"id"`
	}
	require.NoError(t, httpDo(t, srv, ua, "POST", "/v1/social/messages/direct/"+ub.UserID, `{"body":"from a tool"}`, &sent))
	m := b.message(t)
	assert.Equal(t, sent.ID, m.ID)
	var inbox struct{ Messages []social.MessageJSON }
	require.NoError(t, httpDo(t, srv, ub, "GET", "/v1/social/inbox", "", &inbox))
	require.Len(t, inbox.Messages, 1)
	assert.Equal(t, "from a tool", inbox.Messages[0].Body)
	require.NoError(t, httpDo(t, srv, ub, "POST", "/v1/social/inbox/ack", fmt.Sprintf(`{"up_to":%d}`, sent.ID), nil))
	require.NoError(t, httpDo(t, srv, ub, "GET", "/v1/social/inbox", "", &inbox))
	assert.Empty(t, inbox.Messages)

	var g social.GroupJSON
	require.NoError(t, httpDo(t, srv, ua, "POST", "/v1/social/groups", `{"name":"tools","open":true}`, &g))
	assert.Equal(t, "owner", g.Role)
	require.NoError(t, httpDo(t, srv, ub, "POST", fmt.Sprintf("/v1/social/groups/%d/join", g.ID), "", nil))
	require.NoError(t, httpDo(t, srv, ua, "POST", fmt.Sprintf("/v1/social/messages/group/%d", g.ID), `{"body":"hello group"}`, nil))
	assert.Equal(t, "hello group", b.message(t).Body)
	var hist struct {
		Messages []social.MessageJSON
		More     bool
	}
	require.NoError(t, httpDo(t, srv, ub, "GET", fmt.Sprintf("/v1/social/messages/group/%d?limit=10", g.ID), "", &hist))
	require.Len(t, hist.Messages, 1)
	require.NoError(t, httpDo(t, srv, ua, "PUT", "/v1/social/presence", `{"presence":"away","status":"afk"}`, nil))
	require.NoError(t, httpDo(t, srv, ub, "GET", "/v1/social/friends", "", &friends))
	require.Len(t, friends.Friends, 1)
	assert.Equal(t, "offline", friends.Friends[0].Presence, "alice has no session: offline, status hidden")
	assert.Empty(t, friends.Friends[0].Status)

	// Members, roles, invitations, leave, direct history, blocks.
	uc := register(t, srv, "carol")
	var members struct {
		Members []social.MemberJSON
		More    bool
	}
	require.NoError(t, httpDo(t, srv, ub, "GET", fmt.Sprintf("/v1/social/groups/%d/members", g.ID), "", &members))
	require.Len(t, members.Members, 2)
	require.NoError(t, httpDo(t, srv, ua, "PUT", fmt.Sprintf("/v1/social/groups/%d/members/%s/role", g.ID, ub.UserID), `{"role":"admin"}`, nil))
	require.NoError(t, httpDo(t, srv, ub, "POST", fmt.Sprintf("/v1/social/groups/%d/invites", g.ID), `{"user_id":"`+uc.UserID+`"}`, nil))
	var groups struct{ Groups []social.GroupJSON }
	require.NoError(t, httpDo(t, srv, uc, "GET", "/v1/social/groups", "", &groups))
	require.Len(t, groups.Groups, 1)
	assert.Equal(t, "invited", groups.Groups[0].Role)
	require.NoError(t, httpDo(t, srv, uc, "POST", fmt.Sprintf("/v1/social/groups/%d/decline", g.ID), "", nil))
	require.ErrorIs(t, httpDo(t, srv, uc, "POST", fmt.Sprintf("/v1/social/groups/%d/accept", g.ID), "", nil), netcode.CodeRequestNotFound)
	require.NoError(t, httpDo(t, srv, uc, "POST", fmt.Sprintf("/v1/social/groups/%d/join", g.ID), "", nil))
	require.NoError(t, httpDo(t, srv, ub, "DELETE", fmt.Sprintf("/v1/social/groups/%d/members/%s", g.ID, uc.UserID), "", nil))
	require.NoError(t, httpDo(t, srv, ub, "POST", fmt.Sprintf("/v1/social/groups/%d/leave", g.ID), "", nil))
	require.NoError(t, httpDo(t, srv, ub, "GET", "/v1/social/messages/direct/"+ua.UserID+"?limit=5", "", &hist))
	require.Len(t, hist.Messages, 1)
	assert.Equal(t, "from a tool", hist.Messages[0].Body)
	require.NoError(t, httpDo(t, srv, uc, "POST", "/v1/social/friends/requests", `{"username":"alice"}`, nil))
	require.NoError(t, httpDo(t, srv, ua, "POST", "/v1/social/friends/"+uc.UserID+"/decline", "", nil))
	require.NoError(t, httpDo(t, srv, ua, "POST", "/v1/social/blocks/"+uc.UserID, "", nil))
	require.ErrorIs(t, httpDo(t, srv, uc, "POST", "/v1/social/friends/requests", `{"username":"alice"}`, nil), netcode.CodeBlocked)
	require.NoError(t, httpDo(t, srv, ua, "DELETE", "/v1/social/blocks/"+uc.UserID, "", nil))
	require.NoError(t, httpDo(t, srv, ua, "DELETE", "/v1/social/friends/"+ub.UserID, "", nil))
	require.ErrorIs(t, httpDo(t, srv, ua, "POST", "/v1/social/messages/direct/"+ub.UserID, `{"body":"hi"}`, nil), netcode.CodeNotFriends)

	err := httpDo(t, srv, ua, "POST", "/v1/social/messages/direct/"+ub.UserID, `{"body":"`+strings.Repeat("x", 5000)+`"}`, nil)
	require.ErrorIs(t, err, netcode.CodeMessageTooLarge)
	err = httpDo(t, srv, ua, "POST", "/v1/social/groups/abc/join", "", nil)
	require.ErrorIs(t, err, netcode.CodeBadRequest)
	// Malformed query parameters are refused, not read as "no limit".
	for _, path := range []string{
		"/v1/social/inbox?limit=ten",
		"/v1/social/inbox?limit=-1",
		"/v1/social/messages/direct/" + ub.UserID + "?before=x",
		fmt.Sprintf("/v1/social/messages/group/%d?limit=1e3", g.ID),
		fmt.Sprintf("/v1/social/groups/%d/members?limit=%%20", g.ID),
	} {
		require.ErrorIs(t, httpDo(t, srv, ua, "GET", path, "", nil), netcode.CodeBadRequest, path)
	}
	err = httpDo(t, srv, account{Token: "nope"}, "GET", "/v1/social/friends", "", nil)
	require.Error(t, err)
	assert.Contains(t, []netcode.Code{netcode.CodeBadToken, netcode.CodeNotAuthenticated}, netcode.CodeOf(err))
}

// A player busy in a room sends room inputs, not social frames; friends
// must still see them online, and away once they stop.
func TestE2ERoomInputsKeepPresenceOnline(t *testing.T) {
	const away = time.Second
	srv := startServer(t, "", social.Config{AwayAfter: away, TickInterval: 20 * time.Millisecond})
	ua, ub := register(t, srv, "alice"), register(t, srv, "bob")
	a, b := dial(t, srv, ua.Token), dial(t, srv, ub.Token)
	befriend(t, a, b, ua, ub)

	r, err := a.JoinOrCreateRoom(ctxT(t), client.RoomOptions{Type: "relay", Label: "presence"})
	require.NoError(t, err)
	awayAlice := presenceOf(ua.UserID, frame.PresenceAway)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(3 * away); time.Now().Before(end); {
		<-tick.C
		_, err := r.SendInput(netcode.Unreliable, []byte("move"))
		require.NoError(t, err)
		require.Zero(t, b.count(frame.KindPresenceUpdate, awayAlice), "alice shown away while playing")
	}
	// She stops playing: away after the idle time.
	b.take(t, frame.KindPresenceUpdate, awayAlice)
}
