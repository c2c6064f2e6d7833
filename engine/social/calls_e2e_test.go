package social_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// Calls and signaling end to end: a whole server on loopback, Go clients
// over TCP. (internal/e2e runs the same payload over every transport.)

const statsToken = "calls-admin-token-0123"

func startCallServer(t *testing.T, sc social.Config) *server.Server {
	t.Helper()
	return servertest.Start(t, server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		Accounts:   accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}},
		Social:     sc,
		Engine:     engine.Config{AdminToken: statsToken},
		AdminAddr:  servertest.Loopback,
	})
}

func callOf(id uint64, st frame.CallState) func(frame.Frame) bool {
	return func(f frame.Frame) bool {
		u := f.(*frame.CallUpdate)
		return u.CallID == id && u.State == st
	}
}

func (s *session) callUpdate(t *testing.T, id uint64, st frame.CallState) *frame.CallUpdate {
	t.Helper()
	return s.take(t, frame.KindCallUpdate, callOf(id, st)).(*frame.CallUpdate)
}

func (s *session) signal(t *testing.T) *frame.SignalRecv {
	t.Helper()
	return s.take(t, frame.KindSignalRecv, nil).(*frame.SignalRecv)
}

// callers: ada (one session) and bob (two sessions), friends.
type callers struct {
	srv    *server.Server
	ua, ub account
	a      *session
	b1, b2 *session
}

func newCallers(t *testing.T, sc social.Config) *callers {
	srv := startCallServer(t, sc)
	c := &callers{srv: srv, ua: register(t, srv, "ada"), ub: register(t, srv, "bob")}
	c.a, c.b1 = dial(t, srv, c.ua.Token), dial(t, srv, c.ub.Token)
	befriend(t, c.a, c.b1, c.ua, c.ub)
	c.b2 = dial(t, srv, login(t, srv, c.ub).Token)
	return c
}

// invite rings bob from ada and checks every session sees it ringing.
func (c *callers) invite(t *testing.T) uint64 {
	t.Helper()
	u, err := c.a.Invite(ctxT(t), c.ub.UserID)
	require.NoError(t, err)
	require.Equal(t, frame.CallRinging, u.State)
	assert.Equal(t, c.ua.UserID, u.CallerID)
	assert.Equal(t, "ada", u.CallerName)
	assert.Equal(t, c.ub.UserID, u.CalleeID)
	assert.Equal(t, c.a.Welcome().SessionID, u.CallerSession)
	for _, s := range []*session{c.b1, c.b2} {
		r := s.callUpdate(t, u.CallID, frame.CallRinging)
		assert.Equal(t, c.ua.UserID, r.CallerID)
		assert.Zero(t, r.Ref, "a push")
	}
	return u.CallID
}

func (c *callers) ended(t *testing.T, id uint64, reason frame.CallEndReason, by string, sessions ...*session) {
	t.Helper()
	for _, s := range sessions {
		u := s.callUpdate(t, id, frame.CallEnded)
		assert.Equal(t, reason, u.Reason)
		assert.Equal(t, by, u.ByUserID)
	}
}

func TestE2ECallFirstAcceptWinsSignalsStayInTheCall(t *testing.T) {
	c := newCallers(t, social.Config{})
	id := c.invite(t)
	require.NoError(t, c.b1.AcceptCall(ctxT(t), id))
	for _, s := range []*session{c.a, c.b1, c.b2} {
		u := s.callUpdate(t, id, frame.CallActive)
		assert.Equal(t, c.b1.Welcome().SessionID, u.CalleeSession)
	}
	// The other session of the callee stops ringing: answered elsewhere.
	assert.False(t, c.b1.CallAnsweredElsewhere(&frame.CallUpdate{State: frame.CallActive, CalleeID: c.ub.UserID, CalleeSession: c.b1.Welcome().SessionID}))
	assert.True(t, c.b2.CallAnsweredElsewhere(&frame.CallUpdate{State: frame.CallActive, CalleeID: c.ub.UserID, CalleeSession: c.b1.Welcome().SessionID}))
	err := c.b2.AcceptCall(ctxT(t), id)
	require.ErrorIs(t, err, netcode.CodeCallAnswered)

	// Signaling within the call goes between the two call sessions only.
	offer := []byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n\x00\xff")
	require.NoError(t, c.a.SignalCall(ctxT(t), id, offer))
	got := c.b1.signal(t)
	assert.Equal(t, offer, got.Payload)
	assert.Equal(t, id, got.CallID)
	assert.Equal(t, c.ua.UserID, got.FromUserID)
	assert.Equal(t, c.a.Welcome().SessionID, got.FromSession)
	require.NoError(t, c.b1.SignalCall(ctxT(t), id, []byte("answer")))
	assert.Equal(t, []byte("answer"), c.a.signal(t).Payload)
	require.ErrorIs(t, c.b2.SignalCall(ctxT(t), id, []byte("x")), netcode.CodeCallNotFound, "not a call session")
	c.b2.barrier(t)
	assert.Zero(t, c.b2.count(frame.KindSignalRecv, nil))

	require.NoError(t, c.a.EndCall(ctxT(t), id))
	c.ended(t, id, frame.CallEndHungUp, c.ua.UserID, c.a, c.b1, c.b2)
	require.ErrorIs(t, c.a.SignalCall(ctxT(t), id, []byte("late")), netcode.CodeCallNotFound)
	st := c.srv.Social().Stats().Calls
	assert.Equal(t, uint64(1), st.Ended["hung_up"])
	assert.Equal(t, uint64(1), st.Refused.Answered)
	assert.Zero(t, st.Active+st.Ringing)
}

func TestE2ECallEndings(t *testing.T) {
	t.Run("declined", func(t *testing.T) {
		c := newCallers(t, social.Config{})
		id := c.invite(t)
		require.NoError(t, c.b2.EndCall(ctxT(t), id))
		c.ended(t, id, frame.CallEndDeclined, c.ub.UserID, c.a, c.b1, c.b2)
	})
	t.Run("cancelled", func(t *testing.T) {
		c := newCallers(t, social.Config{})
		id := c.invite(t)
		require.NoError(t, c.a.EndCall(ctxT(t), id))
		c.ended(t, id, frame.CallEndCancelled, c.ua.UserID, c.a, c.b1, c.b2)
	})
	t.Run("no_answer", func(t *testing.T) {
		c := newCallers(t, social.Config{RingTimeout: 200 * time.Millisecond, PresenceGrace: 100 * time.Millisecond})
		start := time.Now()
		id := c.invite(t)
		c.ended(t, id, frame.CallEndNoAnswer, "", c.a, c.b1, c.b2)
		assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
		require.ErrorIs(t, c.b1.AcceptCall(ctxT(t), id), netcode.CodeCallNotFound)
	})
	t.Run("caller_disconnects_while_ringing", func(t *testing.T) {
		c := newCallers(t, social.Config{})
		id := c.invite(t)
		require.NoError(t, c.a.Close())
		c.ended(t, id, frame.CallEndDisconnected, "", c.b1, c.b2)
	})
	t.Run("callee_last_session_ends_while_ringing", func(t *testing.T) {
		c := newCallers(t, social.Config{})
		id := c.invite(t)
		require.NoError(t, c.b2.Close())
		c.b1.barrier(t)
		assert.Zero(t, c.a.count(frame.KindCallUpdate, callOf(id, frame.CallEnded)), "bob still has a session ringing")
		require.NoError(t, c.b1.Close())
		c.ended(t, id, frame.CallEndDisconnected, "", c.a)
	})
	t.Run("accepting_session_ends", func(t *testing.T) {
		c := newCallers(t, social.Config{})
		id := c.invite(t)
		require.NoError(t, c.b2.AcceptCall(ctxT(t), id))
		c.a.callUpdate(t, id, frame.CallActive)
		require.NoError(t, c.b2.Close())
		c.ended(t, id, frame.CallEndDisconnected, "", c.a, c.b1)
	})
	t.Run("busy", func(t *testing.T) {
		c := newCallers(t, social.Config{})
		uc := register(t, c.srv, "cyd")
		cy := dial(t, c.srv, uc.Token)
		befriend(t, cy, c.b1, uc, c.ub)
		id := c.invite(t)
		_, err := cy.Invite(ctxT(t), c.ub.UserID)
		require.ErrorIs(t, err, netcode.CodeCallBusy)
		_, err = c.a.Invite(ctxT(t), c.ub.UserID)
		require.ErrorIs(t, err, netcode.CodeInCall, "one call per user")
		require.NoError(t, c.b1.AcceptCall(ctxT(t), id))
		_, err = cy.Invite(ctxT(t), c.ub.UserID)
		require.ErrorIs(t, err, netcode.CodeCallBusy, "in an active call")
		st := c.srv.Social().Stats().Calls
		assert.Equal(t, uint64(2), st.Refused.Busy)
		assert.Equal(t, uint64(1), st.Refused.InCall)
		assert.Equal(t, 1, st.Active)
	})
	t.Run("refusals", func(t *testing.T) {
		c := newCallers(t, social.Config{CallInviteBurst: 2, CallInvitesPerMinute: 1})
		us := register(t, c.srv, "stranger")
		s := dial(t, c.srv, us.Token)
		_, err := s.Invite(ctxT(t), c.ub.UserID)
		require.ErrorIs(t, err, netcode.CodeNotFriends)
		uo := register(t, c.srv, "offline")
		o := dial(t, c.srv, uo.Token)
		befriend(t, c.a, o, c.ua, uo)
		sessions := c.srv.Social().Stats().Sessions
		require.NoError(t, o.Close())
		require.Eventually(t, func() bool { return c.srv.Social().Stats().Sessions == sessions-1 }, wait, time.Millisecond)
		_, err = c.a.Invite(ctxT(t), uo.UserID)
		require.ErrorIs(t, err, netcode.CodeUserOffline)
		_, err = c.a.Invite(ctxT(t), c.ua.UserID)
		require.ErrorIs(t, err, netcode.CodeSelfAction)
		id := c.invite(t) // the second token
		require.NoError(t, c.a.EndCall(ctxT(t), id))
		_, err = c.a.Invite(ctxT(t), c.ub.UserID)
		require.ErrorIs(t, err, netcode.CodeCallRateLimited, "the third invite within a minute, burst 2")
		st := c.srv.Social().Stats().Calls
		assert.Equal(t, uint64(1), st.Refused.NotFriends)
		assert.Equal(t, uint64(1), st.Refused.Offline)
		assert.Equal(t, uint64(1), st.Refused.RateLimited)
		assert.Equal(t, uint64(1), st.Refused.Self)
	})
}

// Both sides hang up at the same moment: one ending, pushed once to each
// session; neither side sees an error.
func TestE2ECallBothHangUpAtOnce(t *testing.T) {
	for range 5 {
		c := newCallers(t, social.Config{})
		id := c.invite(t)
		require.NoError(t, c.b1.AcceptCall(ctxT(t), id))
		c.a.callUpdate(t, id, frame.CallActive)
		c.b1.callUpdate(t, id, frame.CallActive)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*session{c.a, c.b1} {
			wg.Go(func() { errs[i] = s.EndCall(ctxT(t), id) })
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		for _, s := range []*session{c.a, c.b1, c.b2} {
			u := s.callUpdate(t, id, frame.CallEnded)
			assert.Equal(t, frame.CallEndHungUp, u.Reason)
			assert.Contains(t, []string{c.ua.UserID, c.ub.UserID}, u.ByUserID)
			s.barrier(t)
			assert.Zero(t, s.count(frame.KindCallUpdate, callOf(id, frame.CallEnded)), "ended once")
		}
		st := c.srv.Social().Stats().Calls
		assert.Equal(t, uint64(1), st.Ended["hung_up"])
		// After the ending, both are free to call again.
		id2 := c.invite(t)
		require.NoError(t, c.a.EndCall(ctxT(t), id2))
	}
}

func TestE2ESignalOnlyWithinRoomOrFriendship(t *testing.T) {
	c := newCallers(t, social.Config{})
	uc, ud := register(t, c.srv, "cyd"), register(t, c.srv, "dee")
	cy, dee := dial(t, c.srv, uc.Token), dial(t, c.srv, ud.Token)
	payload := []byte{0, 1, 2, 3, 0xfe, 0xff}

	// Friends: to every session of the friend, or to one.
	require.NoError(t, c.a.SignalFriend(ctxT(t), c.ub.UserID, payload))
	for _, s := range []*session{c.b1, c.b2} {
		r := s.signal(t)
		assert.Equal(t, payload, r.Payload)
		assert.Equal(t, c.a.Welcome().SessionID, r.FromSession)
		assert.Zero(t, r.RoomID)
	}
	require.NoError(t, c.b2.SignalSession(ctxT(t), 0, c.ua.UserID, c.a.Welcome().SessionID, []byte("reply")))
	assert.Equal(t, []byte("reply"), c.a.signal(t).Payload)
	require.NoError(t, c.a.SignalSession(ctxT(t), 0, c.ub.UserID, c.b2.Welcome().SessionID, []byte("to b2")))
	assert.Equal(t, []byte("to b2"), c.b2.signal(t).Payload)

	// A stranger: refused, and nothing arrives.
	require.ErrorIs(t, cy.SignalFriend(ctxT(t), c.ub.UserID, payload), netcode.CodeNoRelation)
	require.ErrorIs(t, cy.SignalSession(ctxT(t), 0, c.ub.UserID, c.b1.Welcome().SessionID, payload), netcode.CodeNoRelation)
	require.ErrorIs(t, cy.SignalSession(ctxT(t), 0, "", c.b1.Welcome().SessionID, payload), netcode.CodeNoRelation)
	// A friend's session id under another user's name is not a way in.
	require.ErrorIs(t, c.a.SignalSession(ctxT(t), 0, c.ub.UserID, cy.Welcome().SessionID, payload), netcode.CodeUserOffline)

	// A room: ada and cy are strangers but share a room; dee is not in it.
	ra, err := c.a.CreateRoom(ctxT(t), client.RoomOptions{Type: "relay"})
	require.NoError(t, err)
	roomID := ra.ID()
	rc, err := cy.JoinRoom(ctxT(t), roomID)
	require.NoError(t, err)
	require.NoError(t, cy.SignalRoom(ctxT(t), roomID, c.ua.UserID, payload))
	r := c.a.signal(t)
	assert.Equal(t, payload, r.Payload)
	assert.Equal(t, roomID, r.RoomID)
	assert.Equal(t, uc.UserID, r.FromUserID)
	require.NoError(t, c.a.SignalSession(ctxT(t), roomID, uc.UserID, r.FromSession, []byte("room reply")))
	assert.Equal(t, []byte("room reply"), cy.signal(t).Payload)
	// bob's sessions are not in the room: a room signal does not reach them.
	require.ErrorIs(t, cy.SignalRoom(ctxT(t), roomID, c.ub.UserID, payload), netcode.CodeNoRelation)
	require.ErrorIs(t, dee.SignalRoom(ctxT(t), roomID, c.ua.UserID, payload), netcode.CodeNoRelation, "the sender is not in the room")
	require.ErrorIs(t, c.a.SignalRoom(ctxT(t), roomID, ud.UserID, payload), netcode.CodeNoRelation, "the target is not in the room")
	require.NoError(t, rc.Leave(ctxT(t)))
	require.ErrorIs(t, c.a.SignalRoom(ctxT(t), roomID, uc.UserID, payload), netcode.CodeNoRelation, "after leaving")

	// A guest shares rooms too, but has no friends.
	tok, err := client.GuestToken(ctxT(t), c.srv.HTTPURL(), "visitor")
	require.NoError(t, err)
	g := dial(t, c.srv, tok)
	_, err = g.JoinRoom(ctxT(t), roomID)
	require.NoError(t, err)
	require.NoError(t, g.SignalRoom(ctxT(t), roomID, c.ua.UserID, []byte("guest")))
	assert.Equal(t, []byte("guest"), c.a.signal(t).Payload)
	require.NoError(t, c.a.SignalRoom(ctxT(t), roomID, g.Welcome().UserID, []byte("to guest")))
	assert.Equal(t, []byte("to guest"), g.signal(t).Payload)
	require.ErrorIs(t, g.SignalFriend(ctxT(t), c.ua.UserID, payload), netcode.CodeGuestNotAllowed)

	for _, s := range []*session{cy, dee, c.b1, c.b2} {
		s.barrier(t)
		assert.Zero(t, s.count(frame.KindSignalRecv, nil), "nothing reached a session without a relation")
	}
	st := c.srv.Social().Stats().Signal
	assert.Equal(t, uint64(7), st.Refused.NoRelation)
	assert.Equal(t, uint64(1), st.Refused.Offline)
	assert.Equal(t, uint64(1), st.Refused.Invalid, "the guest's signal to a friend")
}

func TestE2ESignalLimits(t *testing.T) {
	c := newCallers(t, social.Config{MaxSignalBytes: 1000, SignalsPerSecond: 0.001, SignalBurst: 3})
	require.NoError(t, c.a.SignalFriend(ctxT(t), c.ub.UserID, bytes.Repeat([]byte{7}, 1000)))
	assert.Len(t, c.b1.signal(t).Payload, 1000)
	err := c.a.SignalFriend(ctxT(t), c.ub.UserID, bytes.Repeat([]byte{7}, 1001))
	require.ErrorIs(t, err, netcode.CodeSignalTooLarge)
	require.NoError(t, c.a.SignalFriend(ctxT(t), c.ub.UserID, []byte("2")))
	require.NoError(t, c.a.SignalFriend(ctxT(t), c.ub.UserID, []byte("3")))
	require.ErrorIs(t, c.a.SignalFriend(ctxT(t), c.ub.UserID, []byte("4")), netcode.CodeSignalRateLimited)
	// The rate is per session: another session of the same user has its own.
	a2 := dial(t, c.srv, login(t, c.srv, c.ua).Token)
	require.NoError(t, a2.SignalFriend(ctxT(t), c.ub.UserID, []byte("5")))

	// The refusals show in GET /v1/stats (admin listener) under the social service.
	resp, b := servertest.Request(t, http.MethodGet, "http://"+c.srv.AdminAddr()+"/v1/stats", map[string]string{"Authorization": "Bearer " + statsToken}, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	var st struct {
		Services struct {
			Social social.Stats `json:"social"`
		} `json:"services"`
	}
	require.NoError(t, json.Unmarshal(b, &st))
	sig := st.Services.Social.Signal
	assert.Equal(t, uint64(1), sig.Refused.TooLarge)
	assert.Equal(t, uint64(1), sig.Refused.RateLimited)
	assert.Equal(t, uint64(4), sig.Relayed)
	assert.Equal(t, uint64(8), sig.Recipients, "each to bob's two sessions")
}

// A session of the callee that opens while the call rings rings too, and
// may be the one that accepts; one that opens during the call sees it
// answered elsewhere.
func TestE2ECallReachesSessionsOpenedWhileRinging(t *testing.T) {
	c := newCallers(t, social.Config{})
	id := c.invite(t)
	b3 := dial(t, c.srv, login(t, c.srv, c.ub).Token)
	r := b3.callUpdate(t, id, frame.CallRinging)
	assert.Equal(t, c.ua.UserID, r.CallerID)
	require.NoError(t, b3.AcceptCall(ctxT(t), id))
	for _, s := range []*session{c.a, c.b1, c.b2, b3} {
		assert.Equal(t, b3.Welcome().SessionID, s.callUpdate(t, id, frame.CallActive).CalleeSession)
	}
	b4 := dial(t, c.srv, login(t, c.srv, c.ub).Token)
	u := b4.callUpdate(t, id, frame.CallActive)
	assert.True(t, b4.CallAnsweredElsewhere(u))
	require.NoError(t, b3.EndCall(ctxT(t), id))
	c.ended(t, id, frame.CallEndHungUp, c.ub.UserID, c.a, c.b1, c.b2, b3, b4)
}
