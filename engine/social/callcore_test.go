package social

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode/frame"
)

// The call state machine alone, on a fake clock: every transition and
// every refusal.

var t0 = time.Unix(1_800_000_000, 0)

func ringing(t *testing.T, b *callBook) *call {
	t.Helper()
	c, err := b.invite(t0, "ada", "Ada", 11, "bob")
	require.NoError(t, err)
	assert.Equal(t, frame.CallRinging, c.state)
	assert.NotZero(t, c.id)
	return c
}

func TestCallBookTransitions(t *testing.T) {
	t.Run("accept_then_hang_up", func(t *testing.T) {
		b := newCallBook(30*time.Second, 10, 0)
		c := ringing(t, b)
		got, err := b.accept(t0.Add(time.Second), "bob", 21, c.id)
		require.NoError(t, err)
		assert.Equal(t, frame.CallActive, got.state)
		assert.Equal(t, uint64(21), got.calleeSess)
		assert.Equal(t, uint64(21), c.peerOf(11))
		assert.Equal(t, uint64(11), c.peerOf(21))
		assert.Zero(t, c.peerOf(22), "another session of the callee is not in the call")
		// A second callee session loses.
		_, err = b.accept(t0.Add(time.Second), "bob", 22, c.id)
		assert.ErrorIs(t, err, ErrCallAnswered)
		// Active calls do not time out.
		assert.Empty(t, b.expire(t0.Add(time.Hour)))
		got, err = b.end(t0.Add(2*time.Second), "bob", c.id)
		require.NoError(t, err)
		assert.Equal(t, frame.CallEnded, got.state)
		assert.Equal(t, frame.CallEndHungUp, got.reason)
		assert.Equal(t, "bob", got.by)
		// Both hung up at once: the second finds no call.
		_, err = b.end(t0.Add(2*time.Second), "ada", c.id)
		assert.ErrorIs(t, err, ErrCallNotFound)
		assert.Empty(t, b.calls)
		assert.Empty(t, b.byUser)
	})
	for name, tc := range map[string]struct {
		by     string
		reason frame.CallEndReason
	}{
		"decline": {"bob", frame.CallEndDeclined},
		"cancel":  {"ada", frame.CallEndCancelled},
	} {
		t.Run(name, func(t *testing.T) {
			b := newCallBook(30*time.Second, 10, 0)
			c := ringing(t, b)
			got, err := b.end(t0, tc.by, c.id)
			require.NoError(t, err)
			assert.Equal(t, tc.reason, got.reason)
			assert.Equal(t, tc.by, got.by)
			_, err = b.accept(t0, "bob", 21, c.id)
			assert.ErrorIs(t, err, ErrCallNotFound)
		})
	}
	t.Run("no_answer", func(t *testing.T) {
		b := newCallBook(30*time.Second, 10, 0)
		c := ringing(t, b)
		assert.Empty(t, b.expire(t0.Add(30*time.Second-time.Nanosecond)))
		out := b.expire(t0.Add(30 * time.Second))
		require.Len(t, out, 1)
		assert.Equal(t, c, out[0])
		assert.Equal(t, frame.CallEndNoAnswer, c.reason)
		assert.Empty(t, c.by)
		_, err := b.accept(t0.Add(31*time.Second), "bob", 21, c.id)
		assert.ErrorIs(t, err, ErrCallNotFound)
	})
	t.Run("busy_and_in_call", func(t *testing.T) {
		b := newCallBook(30*time.Second, 10, 0)
		c := ringing(t, b)
		_, err := b.invite(t0, "cy", "Cy", 31, "bob")
		assert.ErrorIs(t, err, ErrCallBusy, "the callee is ringing")
		_, err = b.invite(t0, "cy", "Cy", 31, "ada")
		assert.ErrorIs(t, err, ErrCallBusy, "the caller is ringing out")
		_, err = b.invite(t0, "ada", "Ada", 11, "cy")
		assert.ErrorIs(t, err, ErrInCall, "one call per user")
		_, err = b.invite(t0, "bob", "Bob", 21, "ada")
		assert.ErrorIs(t, err, ErrInCall, "calling back while ringing")
		_, err = b.invite(t0, "cy", "Cy", 31, "cy")
		assert.ErrorIs(t, err, ErrSelf)
		_, err = b.end(t0, "cy", c.id)
		assert.ErrorIs(t, err, ErrCallNotFound, "a stranger cannot end it")
		_, err = b.accept(t0, "ada", 11, c.id)
		assert.ErrorIs(t, err, ErrCallNotFound, "the caller cannot accept")
		_, err = b.end(t0, "bob", c.id)
		require.NoError(t, err)
		_, err = b.invite(t0, "cy", "Cy", 31, "bob")
		assert.NoError(t, err, "free again")
	})
	t.Run("capacity", func(t *testing.T) {
		b := newCallBook(30*time.Second, 1, 0)
		ringing(t, b)
		_, err := b.invite(t0, "cy", "Cy", 31, "dee")
		assert.ErrorIs(t, err, ErrCallCapacity)
	})
	t.Run("ids_skip_zero_and_live_ones", func(t *testing.T) {
		b := newCallBook(30*time.Second, 10, ^uint64(0)-1)
		c1 := ringing(t, b)
		assert.Equal(t, ^uint64(0), c1.id)
		c2, err := b.invite(t0, "cy", "Cy", 31, "dee")
		require.NoError(t, err)
		assert.Equal(t, uint64(1), c2.id)
	})
}

func TestCallBookSessionEnds(t *testing.T) {
	for name, tc := range map[string]struct {
		accept bool
		user   string
		sess   uint64
		left   int
		ends   bool
	}{
		"ringing_caller_session":         {false, "ada", 11, 1, true},
		"ringing_caller_other_session":   {false, "ada", 12, 1, false},
		"ringing_callee_one_of_two":      {false, "bob", 21, 1, false},
		"ringing_callee_last_session":    {false, "bob", 21, 0, true},
		"active_caller_session":          {true, "ada", 11, 0, true},
		"active_accepting_session":       {true, "bob", 21, 1, true},
		"active_callee_other_session":    {true, "bob", 22, 1, false},
		"active_caller_other_session":    {true, "ada", 12, 1, false},
		"active_stranger_same_session_n": {true, "cy", 21, 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			b := newCallBook(30*time.Second, 10, 0)
			c := ringing(t, b)
			if tc.accept {
				_, err := b.accept(t0, "bob", 21, c.id)
				require.NoError(t, err)
			}
			got := b.sessionClosed(t0, tc.user, tc.sess, tc.left)
			if !tc.ends {
				assert.Nil(t, got)
				assert.Len(t, b.calls, 1)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, frame.CallEndDisconnected, got.reason)
			assert.Empty(t, b.calls)
		})
	}
}

func TestCallUpdateFrame(t *testing.T) {
	b := newCallBook(30*time.Second, 10, 0)
	c := ringing(t, b)
	_, err := b.accept(t0.Add(time.Second), "bob", 21, c.id)
	require.NoError(t, err)
	assert.Equal(t, &frame.CallUpdate{Ref: 7, CallID: c.id, State: frame.CallActive, CallerID: "ada", CallerName: "Ada",
		CalleeID: "bob", CallerSession: 11, CalleeSession: 21, TimeUs: t0.Add(time.Second).UnixMicro()}, c.update(7))
}

// friendsOrNot answers from the store when the user's friend set is not
// in memory (not online, or not loaded yet), and from the cache once it
// is; both follow a friendship's end.
func TestFriendsOrNotStoreAndCache(t *testing.T) {
	e := newEnv(t, Config{}, "ada", "bob", "cyd")
	ctx := context.Background()
	ada, bob, cyd := e.ids["ada"], e.ids["bob"], e.ids["cyd"]
	require.NoError(t, e.svc.RequestFriend(ctx, e.clock.Now(), ada, "bob"))
	require.NoError(t, e.svc.AcceptFriend(ctx, e.clock.Now(), bob, ada))
	check := func(how string) {
		t.Helper()
		assert.NoError(t, e.svc.friendsOrNot(ctx, ada, bob), how)
		assert.ErrorIs(t, e.svc.friendsOrNot(ctx, ada, cyd), ErrNoRelation, how)
		assert.ErrorIs(t, e.svc.friendsOrNot(ctx, ada, ada), ErrNoRelation, how)
		assert.ErrorIs(t, e.svc.friendsOrNot(ctx, ada, ""), ErrNoRelation, how)
	}
	check("from the store: nobody online")
	p := e.open("ada")
	e.synced(p)
	e.svc.mu.Lock()
	loaded := e.svc.online[ada].loaded
	e.svc.mu.Unlock()
	require.True(t, loaded)
	check("from the cache")
	require.NoError(t, e.svc.RemoveFriend(ctx, e.clock.Now(), ada, bob))
	assert.ErrorIs(t, e.svc.friendsOrNot(ctx, ada, bob), ErrNoRelation, "the cache follows the removal")
	assert.ErrorIs(t, e.svc.friendsOrNot(ctx, bob, ada), ErrNoRelation, "and the store")

	// A block ends a friendship: friends again, then blocked.
	require.NoError(t, e.svc.RequestFriend(ctx, e.clock.Now(), ada, "bob"))
	require.NoError(t, e.svc.AcceptFriend(ctx, e.clock.Now(), bob, ada))
	require.NoError(t, e.svc.friendsOrNot(ctx, ada, bob))
	require.NoError(t, e.svc.Block(ctx, e.clock.Now(), bob, ada))
	assert.ErrorIs(t, e.svc.friendsOrNot(ctx, ada, bob), ErrNoRelation, "blocked, from the cache")
	assert.ErrorIs(t, e.svc.friendsOrNot(ctx, bob, ada), ErrNoRelation, "blocked, from the store")
}
