// Package storetest is the one test suite every social.Store passes
// (SQLite and PostgreSQL alike): each store's package runs Run with a
// function that makes a fresh database.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Handle is one connection (or pool) to a test database: the social store
// and the accounts store on the same database (the social tables
// reference users).
type Handle struct {
	Social social.Store
	Users  accounts.Store
}

// Fresh makes an empty, migrated database for t and returns open, which
// returns a new handle on that database each time it is called, as a
// second node would have. Handles are closed when t ends.
type Fresh func(t *testing.T) (open func() Handle)

// Run runs the suite.
func Run(t *testing.T, fresh Fresh) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open func() Handle)
	}{
		{"Friends", friends},
		{"StatusAndCursor", statusAndCursor},
		{"InboxAndHistory", inboxAndHistory},
		{"Groups", groups},
		{"TxRollsBack", txRollsBack},
		{"ConcurrentWritersInboxMissesNone", concurrentWriters},
		{"ConcurrentTxKeepCaps", concurrentTxCaps},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// users registers names and returns their ids.
func users(t *testing.T, h Handle, names ...string) []string {
	t.Helper()
	ids := make([]string, len(names))
	for i, n := range names {
		u, err := h.Users.CreateUser(ctxT(t), n, "", nil)
		require.NoError(t, err)
		ids[i] = u.ID
	}
	return ids
}

func friends(t *testing.T, open func() Handle) {
	ctx := ctxT(t)
	h := open()
	st := h.Social
	id := users(t, h, "ann", "bob", "cat", "dan")
	a, b, c, d := id[0], id[1], id[2], id[3]

	s, err := st.Relation(ctx, a, b)
	require.NoError(t, err)
	assert.Equal(t, frame.FriendNone, s)

	require.NoError(t, st.SetRelation(ctx, a, b, frame.FriendOutgoing, 10))
	require.NoError(t, st.SetRelation(ctx, b, a, frame.FriendIncoming, 10))
	require.NoError(t, st.SetRelation(ctx, a, b, frame.FriendAccepted, 20)) // upsert
	require.NoError(t, st.SetRelation(ctx, a, c, frame.FriendAccepted, 20))
	require.NoError(t, st.SetRelation(ctx, a, d, frame.FriendBlocked, 20))
	s, err = st.Relation(ctx, a, b)
	require.NoError(t, err)
	assert.Equal(t, frame.FriendAccepted, s)
	s, err = st.Relation(ctx, b, a)
	require.NoError(t, err)
	assert.Equal(t, frame.FriendIncoming, s)

	n, err := st.CountRelations(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "blocks do not count")
	ids, err := st.FriendIDs(ctx, a)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{b, c}, ids)

	require.NoError(t, st.SetStatus(ctx, b, frame.PresenceAway, "afk"))
	require.NoError(t, st.SetLastSeen(ctx, c, 777))
	rows, err := st.Relations(ctx, a, "")
	require.NoError(t, err)
	require.Len(t, rows, 3)
	byID := map[string]social.RelationRow{}
	for i, r := range rows {
		if i > 0 {
			assert.Less(t, rows[i-1].OtherID, r.OtherID, "ordered by other id")
		}
		byID[r.OtherID] = r
	}
	assert.Equal(t, social.RelationRow{OtherID: b, State: frame.FriendAccepted, StatusText: "afk", Away: true}, byID[b])
	assert.Equal(t, social.RelationRow{OtherID: c, State: frame.FriendAccepted, LastSeenUs: 777}, byID[c])
	assert.Equal(t, social.RelationRow{OtherID: d, State: frame.FriendBlocked}, byID[d])
	page, err := st.Relations(ctx, a, rows[0].OtherID)
	require.NoError(t, err)
	assert.Equal(t, rows[1:], page)

	// ClearRelation keeps a block; DeleteBlock removes it.
	require.NoError(t, st.ClearRelation(ctx, a, d))
	s, err = st.Relation(ctx, a, d)
	require.NoError(t, err)
	assert.Equal(t, frame.FriendBlocked, s)
	require.NoError(t, st.ClearRelation(ctx, a, c))
	s, err = st.Relation(ctx, a, c)
	require.NoError(t, err)
	assert.Equal(t, frame.FriendNone, s)
	require.NoError(t, st.DeleteBlock(ctx, a, d))
	s, err = st.Relation(ctx, a, d)
	require.NoError(t, err)
	assert.Equal(t, frame.FriendNone, s)
	empty, err := st.FriendIDs(ctx, d)
	require.NoError(t, err)
	assert.Empty(t, empty)
}

func statusAndCursor(t *testing.T, open func() Handle) {
	ctx := ctxT(t)
	h := open()
	st := h.Social
	a := users(t, h, "ann")[0]

	s, err := st.Status(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, social.StatusRow{}, s)
	require.NoError(t, st.SetLastSeen(ctx, a, 5))
	require.NoError(t, st.SetStatus(ctx, a, frame.PresenceAway, "lunch"))
	require.NoError(t, st.SetLastSeen(ctx, a, 9))
	s, err = st.Status(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, social.StatusRow{Text: "lunch", Away: true, LastSeenUs: 9}, s, "each setter keeps the other's columns")
	require.NoError(t, st.SetStatus(ctx, a, frame.PresenceOnline, ""))
	s, err = open().Social.Status(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, social.StatusRow{LastSeenUs: 9}, s)

	c, err := st.Cursor(ctx, a)
	require.NoError(t, err)
	assert.Zero(t, c)
	for _, step := range []struct{ to, want uint64 }{{5, 5}, {3, 5}, {9, 9}, {9, 9}} {
		require.NoError(t, st.AdvanceCursor(ctx, a, step.to))
		c, err = st.Cursor(ctx, a)
		require.NoError(t, err)
		assert.Equal(t, step.want, c, "advance to %d never moves back", step.to)
	}
}

func dm(from, to, body string) *frame.ChatMessage {
	return &frame.ChatMessage{FromUserID: from, ToUserID: to, FromName: "name of " + from[:4], TimeUs: 1000, Body: body}
}

func bodies(msgs []frame.ChatMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	return out
}

func inboxAndHistory(t *testing.T, open func() Handle) {
	ctx := ctxT(t)
	h := open()
	st := h.Social
	id := users(t, h, "ann", "bob", "cat")
	a, b, c := id[0], id[1], id[2]

	m1 := dm(a, b, "1")
	require.NoError(t, st.InsertMessage(ctx, m1))
	require.NotZero(t, m1.ID)
	gid, err := st.CreateGroup(ctx, "g", frame.GroupOpen, a, 1)
	require.NoError(t, err)
	require.NoError(t, st.AddMember(ctx, gid, a, frame.RoleOwner, 1))
	g0 := &frame.ChatMessage{GroupID: gid, FromUserID: a, FromName: "ann", TimeUs: 2, Body: "before bob"}
	require.NoError(t, st.InsertMessage(ctx, g0))
	require.NoError(t, st.AddMember(ctx, gid, b, frame.RoleMember, 3))
	m2 := dm(c, b, "2")
	require.NoError(t, st.InsertMessage(ctx, m2))
	g1 := &frame.ChatMessage{GroupID: gid, FromUserID: a, FromName: "ann", TimeUs: 4, Body: "g1"}
	require.NoError(t, st.InsertMessage(ctx, g1))
	own := &frame.ChatMessage{GroupID: gid, FromUserID: b, FromName: "bob", TimeUs: 5, Body: "own"}
	require.NoError(t, st.InsertMessage(ctx, own))
	m3 := dm(a, b, "3")
	require.NoError(t, st.InsertMessage(ctx, m3))
	ids := []uint64{m1.ID, g0.ID, m2.ID, g1.ID, own.ID, m3.ID}
	for i := 1; i < len(ids); i++ {
		require.Greater(t, ids[i], ids[i-1], "ids are monotonic")
	}

	in, err := st.Inbox(ctx, b, 0, 100)
	require.NoError(t, err)
	assert.Equal(t, []string{"1", "2", "g1", "3"}, bodies(in), "direct messages and group messages since joining, not their own")
	assert.Equal(t, *m1, in[0], "every field round-trips")
	assert.Equal(t, *g1, in[2])
	in, err = st.Inbox(ctx, b, m2.ID, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"g1"}, bodies(in), "after the cursor, at most n")
	in, err = st.Inbox(ctx, a, 0, 100)
	require.NoError(t, err)
	assert.Equal(t, []string{"own"}, bodies(in))

	h1, more, err := st.History(ctx, 0, social.DirectConv(b, a), 0, 1)
	require.NoError(t, err)
	assert.True(t, more)
	assert.Equal(t, []string{"3"}, bodies(h1))
	h1, more, err = st.History(ctx, 0, social.DirectConv(a, b), m3.ID, 5)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Equal(t, []string{"1"}, bodies(h1))
	hg, more, err := st.History(ctx, gid, "", 0, 10)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Equal(t, []string{"before bob", "g1", "own"}, bodies(hg), "oldest first")
	hg, more, err = st.History(ctx, gid, "", own.ID, 1)
	require.NoError(t, err)
	assert.True(t, more)
	assert.Equal(t, []string{"g1"}, bodies(hg))
	none, more, err := st.History(ctx, gid+1000, "", 0, 10)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Empty(t, none)

	// A message body the database must keep byte for byte.
	// Bodies are any valid UTF-8 the service accepts, NUL and control
	// characters included.
	odd := dm(a, c, "it's 'quoted' -- ; DROP TABLE social_messages; \u00e9\U0001F3B2 nul:\x00 bell:\a\r\n")
	require.NoError(t, open().Social.InsertMessage(ctx, odd))
	in, err = st.Inbox(ctx, c, 0, 10)
	require.NoError(t, err)
	require.Len(t, in, 1)
	assert.Equal(t, *odd, in[0])
}

func groups(t *testing.T, open func() Handle) {
	ctx := ctxT(t)
	h := open()
	st := h.Social
	id := users(t, h, "ann", "bob", "cat", "dan")
	a, b, c, d := id[0], id[1], id[2], id[3]

	_, err := st.Group(ctx, 12345)
	require.ErrorIs(t, err, social.ErrGroupNotFound)
	_, err = st.Group(ctx, ^uint64(0))
	require.ErrorIs(t, err, social.ErrGroupNotFound)

	gid, err := st.CreateGroup(ctx, "crew", frame.GroupInviteOnly, a, 1)
	require.NoError(t, err)
	g2, err := st.CreateGroup(ctx, "open", frame.GroupOpen, c, 1)
	require.NoError(t, err)
	require.Greater(t, g2, gid)
	g, err := st.Group(ctx, gid)
	require.NoError(t, err)
	assert.Equal(t, social.GroupRow{ID: gid, Name: "crew", Open: false, OwnerID: a}, g)
	g, err = st.Group(ctx, g2)
	require.NoError(t, err)
	assert.True(t, g.Open)

	require.NoError(t, st.AddMember(ctx, gid, a, frame.RoleOwner, 1))
	require.NoError(t, st.AddMember(ctx, gid, b, frame.RoleMember, 2))
	require.NoError(t, st.AddMember(ctx, gid, c, frame.RoleMember, 3))
	require.NoError(t, st.AddMember(ctx, g2, c, frame.RoleOwner, 1))
	require.NoError(t, st.SetMemberRole(ctx, gid, c, frame.RoleAdmin))
	r, err := st.Role(ctx, gid, c)
	require.NoError(t, err)
	assert.Equal(t, frame.RoleAdmin, r)
	_, err = st.Role(ctx, gid, d)
	require.ErrorIs(t, err, social.ErrNotMember)

	n, err := st.CountMembers(ctx, gid)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = st.CountGroupsOf(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	all, err := st.Members(ctx, gid, "", 10)
	require.NoError(t, err)
	require.Len(t, all, 3)
	page, err := st.Members(ctx, gid, all[0].UserID, 1)
	require.NoError(t, err)
	assert.Equal(t, all[1:2], page, "ordered by user id, after, at most n")

	// Invitations: a second is a no-op.
	require.NoError(t, st.AddInvite(ctx, gid, d, a, 5))
	require.NoError(t, st.AddInvite(ctx, gid, d, b, 6))
	require.NoError(t, st.AddInvite(ctx, g2, d, c, 6))
	ok, err := st.Invited(ctx, gid, d)
	require.NoError(t, err)
	assert.True(t, ok)
	n, err = st.CountInvites(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	ug, err := st.UserGroups(ctx, d, 0, 10)
	require.NoError(t, err)
	assert.Equal(t, []frame.Group{
		{ID: gid, Name: "crew", Open: false, Role: frame.RoleInvited, Members: 3, OwnerID: a},
		{ID: g2, Name: "open", Open: true, Role: frame.RoleInvited, Members: 1, OwnerID: c},
	}, ug)
	ug, err = st.UserGroups(ctx, c, gid, 10)
	require.NoError(t, err)
	assert.Equal(t, []frame.Group{{ID: g2, Name: "open", Open: true, Role: frame.RoleOwner, Members: 1, OwnerID: c}}, ug)
	ug, err = st.UserGroups(ctx, c, 0, 1)
	require.NoError(t, err)
	assert.Equal(t, []frame.Group{{ID: gid, Name: "crew", Role: frame.RoleAdmin, Members: 3, OwnerID: a}}, ug)
	deleted, err := st.DeleteInvite(ctx, gid, d)
	require.NoError(t, err)
	assert.True(t, deleted)
	deleted, err = st.DeleteInvite(ctx, gid, d)
	require.NoError(t, err)
	assert.False(t, deleted)

	// The owner leaves: the admin inherits before the older member.
	require.NoError(t, st.RemoveMember(ctx, gid, a))
	next, ok, err := st.NextOwner(ctx, gid)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, c, next)
	require.NoError(t, st.SetOwner(ctx, gid, c))
	g, err = st.Group(ctx, gid)
	require.NoError(t, err)
	assert.Equal(t, c, g.OwnerID)
	r, err = st.Role(ctx, gid, c)
	require.NoError(t, err)
	assert.Equal(t, frame.RoleOwner, r)
	require.NoError(t, st.RemoveMember(ctx, gid, c))
	next, ok, err = st.NextOwner(ctx, gid)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, b, next)
	require.NoError(t, st.RemoveMember(ctx, gid, b))
	_, ok, err = st.NextOwner(ctx, gid)
	require.NoError(t, err)
	assert.False(t, ok)

	// Deleting a group takes its members and invitations with it.
	require.NoError(t, st.DeleteGroup(ctx, g2))
	_, err = st.Group(ctx, g2)
	require.ErrorIs(t, err, social.ErrGroupNotFound)
	n, err = st.CountInvites(ctx, d)
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = st.CountGroupsOf(ctx, c)
	require.NoError(t, err)
	assert.Zero(t, n)
}

var errAbort = errors.New("abort")

func txRollsBack(t *testing.T, open func() Handle) {
	ctx := ctxT(t)
	h := open()
	st := h.Social
	id := users(t, h, "ann", "bob")
	a, b := id[0], id[1]

	err := st.InTx(ctx, func(tx social.Ops) error {
		require.NoError(t, tx.SetRelation(ctx, a, b, frame.FriendOutgoing, 1))
		s, err := tx.Relation(ctx, a, b)
		require.NoError(t, err)
		assert.Equal(t, frame.FriendOutgoing, s, "the transaction sees its own write")
		return errAbort
	})
	require.ErrorIs(t, err, errAbort)
	s, err := st.Relation(ctx, a, b)
	require.NoError(t, err)
	assert.Equal(t, frame.FriendNone, s, "rolled back")

	require.NoError(t, st.InTx(ctx, func(tx social.Ops) error {
		return tx.SetRelation(ctx, a, b, frame.FriendOutgoing, 1)
	}))
	s, err = open().Social.Relation(ctx, a, b)
	require.NoError(t, err)
	assert.Equal(t, frame.FriendOutgoing, s, "committed, seen by another handle")
}

// Two nodes insert messages for one reader at once while the reader
// drains its inbox by cursor, as a reconnecting client does: every
// message is read exactly once, in id order. A store whose ids can become
// visible out of order lets the cursor pass a message committed later
// with a lower id.
func concurrentWriters(t *testing.T, open func() Handle) {
	ctx := ctxT(t)
	h := open()
	id := users(t, h, "ann", "bob", "rea")
	writers := []social.Store{open().Social, open().Social}
	reader := open().Social
	const perWriter = 300
	var wg sync.WaitGroup
	var finished atomic.Int32
	errs := make(chan error, len(writers)*2)
	for w, st := range writers {
		for k := range 2 { // two senders per node
			wg.Go(func() {
				defer finished.Add(1)
				for i := range perWriter / 2 {
					if err := st.InsertMessage(ctx, dm(id[w], id[2], fmt.Sprintf("%d-%d-%d", w, k, i))); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	var cursor uint64
	seen := map[string]bool{}
	read := func() int { // one page; how many it held
		in, err := reader.Inbox(ctx, id[2], cursor, 50)
		require.NoError(t, err)
		for _, m := range in {
			require.Greater(t, m.ID, cursor)
			cursor = m.ID
			require.False(t, seen[m.Body], "read twice: %s", m.Body)
			seen[m.Body] = true
		}
		return len(in)
	}
	for finished.Load() < int32(len(writers)*2) {
		read()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for read() > 0 { // the last ones: the reader may trail the writers by many pages
	}
	assert.Equal(t, len(writers)*perWriter, len(seen), "the cursor skipped no message")
}

// Two nodes add members to one group with the cap checked inside the
// transaction (as the service does): the cap holds.
func concurrentTxCaps(t *testing.T, open func() Handle) {
	ctx := ctxT(t)
	h := open()
	const joiners, maxMembers = 12, 5
	names := make([]string, joiners+1)
	for i := range names {
		names[i] = fmt.Sprintf("user%d", i)
	}
	id := users(t, h, names...)
	gid, err := h.Social.CreateGroup(ctx, "capped", frame.GroupOpen, id[0], 1)
	require.NoError(t, err)
	require.NoError(t, h.Social.AddMember(ctx, gid, id[0], frame.RoleOwner, 1))
	nodes := []social.Store{open().Social, open().Social}
	var wg sync.WaitGroup
	full := make([]bool, joiners)
	errs := make([]error, joiners)
	for i := range joiners {
		wg.Go(func() {
			errs[i] = nodes[i%2].InTx(ctx, func(tx social.Ops) error {
				n, err := tx.CountMembers(ctx, gid)
				if err != nil {
					return err
				}
				if n >= maxMembers {
					full[i] = true
					return nil
				}
				return tx.AddMember(ctx, gid, id[i+1], frame.RoleMember, 2)
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	n, err := h.Social.CountMembers(ctx, gid)
	require.NoError(t, err)
	assert.Equal(t, maxMembers, n)
	refused := 0
	for _, f := range full {
		if f {
			refused++
		}
	}
	assert.Equal(t, joiners+1-maxMembers, refused)
}
