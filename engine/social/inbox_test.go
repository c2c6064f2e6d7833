package social

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// gatedStore is the real store whose InsertMessage, once armed, reports
// that it was entered and waits for release (or fails with fail).
type gatedStore struct {
	Store
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
	fail    error
}

func newGated() *gatedStore {
	return &gatedStore{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (g *gatedStore) InsertMessage(ctx context.Context, m *frame.ChatMessage) error {
	if g.fail != nil {
		return g.fail
	}
	if g.armed.Load() {
		g.entered <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Store.InsertMessage(ctx, m)
}

func newGatedEnv(t *testing.T, cfg Config, g *gatedStore, names ...string) *env {
	t.Helper()
	return newEnvStore(t, filepath.Join(t.TempDir(), "social.db"), cfg, func(st Store) Store {
		g.Store = st
		return g
	}, names...)
}

// send queues req from p and returns its ref (the answer comes later).
func (e *env) send(p *testPeer, req frame.Refer) (uint32, error) {
	e.t.Helper()
	ref := nextRef.Add(1)
	req.SetRef(ref)
	b, err := frame.Marshal(req)
	require.NoError(e.t, err)
	_, err = e.svc.HandleFrame(e.clock.Now(), p, netcode.Reliable, req.Kind(), b)
	return ref, err
}

// A message whose store write fails is answered with an Error carrying
// the request's ref, never with MessageSent, and reaches nobody.
func TestStoreFailureIsAnsweredWithErrorNeverMessageSent(t *testing.T) {
	g := newGated()
	e := newGatedEnv(t, Config{}, g, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.synced(a)
	e.synced(b)
	e.befriend(a, b)
	grp := decodeAs(t, e.must(a, &frame.GroupCreate{Name: "g", Open: true}), &frame.GroupResult{}).Group
	e.must(b, &frame.GroupJoin{GroupID: grp.ID})
	g.fail = errors.New("disk full")

	for _, req := range []frame.Refer{
		&frame.DirectSend{ToUserID: e.ids["bob"], Body: "lost?"},
		&frame.GroupSend{GroupID: grp.ID, Body: "lost?"},
	} {
		ref, err := e.send(a, req)
		require.NoError(t, err)
		reply := a.takeRef(t, ref)
		k, _ := frame.Peek(reply)
		require.Equal(t, frame.KindError, k, "a failed store write must not be acknowledged")
		ef := decodeAs(t, reply, &frame.Error{})
		assert.Equal(t, netcode.CodeInternal, ef.Code)
		assert.Equal(t, "internal error", ef.Message, "no database detail leaks to the client")
	}
	e.must(b, &frame.GroupList{}) // bob's worker is past any delivery
	assert.Zero(t, a.count(frame.KindMessageSent))
	assert.Zero(t, b.count(frame.KindMessage))
	assert.Zero(t, e.svc.Stats().Stored)
}

// MessageSent comes only once the store has committed the message.
func TestMessageSentOnlyAfterStore(t *testing.T) {
	g := newGated()
	e := newGatedEnv(t, Config{}, g, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.befriend(a, b)
	g.armed.Store(true)
	ref, err := e.send(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "hi"})
	require.NoError(t, err)
	<-g.entered
	assert.Zero(t, a.count(frame.KindMessageSent), "acknowledged before stored")
	assert.Zero(t, b.count(frame.KindMessage))
	close(g.release)
	sent := decodeAs(t, a.takeRef(t, ref), &frame.MessageSent{})
	assert.Equal(t, sent.ID, e.recvMessage(b).ID)
}

// The request queue is bounded per worker and per session; a refusal is
// CodeServerBusy at once (the reader never waits), counted, and leaves
// the session open. Queued requests are all answered once the store
// moves again.
func TestRequestQueueBoundedAndRefusedBusy(t *testing.T) {
	g := newGated()
	e := newGatedEnv(t, Config{Workers: 1, InboxSize: 2, MaxQueuedPerPeer: 3}, g, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.synced(a)
	e.synced(b)
	e.befriend(a, b)

	g.armed.Store(true)
	stuck, err := e.send(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "slow"})
	require.NoError(t, err)
	<-g.entered // the only worker is inside the store
	var queued []uint32
	for range 2 {
		ref, err := e.send(a, &frame.GroupList{})
		require.NoError(t, err)
		queued = append(queued, ref)
	}
	_, err = e.send(a, &frame.GroupList{}) // alice has 3 pending
	require.ErrorIs(t, err, netcode.CodeServerBusy)
	_, err = e.send(b, &frame.GroupList{}) // the inbox holds 2
	require.ErrorIs(t, err, netcode.CodeServerBusy)
	st := e.svc.Stats()
	assert.Equal(t, uint64(1), st.Refused.PeerQueue)
	assert.Equal(t, uint64(1), st.Refused.InboxFull)
	assert.Equal(t, 2, st.Queued)

	close(g.release)
	g.armed.Store(false)
	k, _ := frame.Peek(a.takeRef(t, stuck))
	assert.Equal(t, frame.KindMessageSent, k)
	for _, ref := range queued {
		k, _ := frame.Peek(a.takeRef(t, ref))
		assert.Equal(t, frame.KindGroupListResult, k)
	}
	e.must(b, &frame.GroupList{})
	assert.Zero(t, a.closed)
	assert.Zero(t, b.closed)
}

// PeerClosed takes effect after the session's queued requests: the
// worker performs them for a session it still knows, then forgets it.
func TestPeerClosedWaitsForQueuedRequests(t *testing.T) {
	g := newGated()
	e := newGatedEnv(t, Config{}, g, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.synced(a)
	e.synced(b)
	e.befriend(a, b)
	g.armed.Store(true)
	ref, err := e.send(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "bye"})
	require.NoError(t, err)
	<-g.entered
	e.svc.PeerClosed(a) // not e.close, which waits until the close is applied
	assert.Equal(t, 2, e.svc.Stats().Sessions, "closed before its request ran")
	close(g.release)
	k, _ := frame.Peek(a.takeRef(t, ref))
	assert.Equal(t, frame.KindMessageSent, k)
	assert.Equal(t, "bye", e.recvMessage(b).Body)
	require.Eventually(t, func() bool { return e.svc.Stats().Sessions == 1 }, waitFor, time.Millisecond)
}

// Requests still queued when the service stops are refused with
// CodeServerShutdown; the one running finishes.
func TestShutdownRefusesQueuedRequests(t *testing.T) {
	g := newGated()
	e := newGatedEnv(t, Config{Workers: 1}, g, "alice", "bob")
	a, b := e.open("alice"), e.open("bob")
	e.befriend(a, b)
	g.armed.Store(true)
	running, err := e.send(a, &frame.DirectSend{ToUserID: e.ids["bob"], Body: "last"})
	require.NoError(t, err)
	<-g.entered
	queued, err := e.send(a, &frame.GroupList{})
	require.NoError(t, err)
	e.cancel()
	close(g.release)
	k, _ := frame.Peek(a.takeRef(t, running))
	assert.Equal(t, frame.KindMessageSent, k)
	ef := decodeAs(t, a.takeRef(t, queued), &frame.Error{})
	assert.Equal(t, netcode.CodeServerShutdown, ef.Code)
	e.stop()
	assert.Equal(t, uint64(1), e.svc.Stats().Refused.Shutdown)
	_, err = e.send(a, &frame.GroupList{})
	require.ErrorIs(t, err, netcode.CodeServerShutdown)
}

// A group list longer than one frame is cut, says so, and pages on.
func TestGroupListCutToFitAFrame(t *testing.T) {
	const groups = 1000 // about 90 KiB of entries: well beyond a 64 KiB frame
	e := newEnv(t, Config{}, "alice")
	ctx := context.Background()
	name := strings.Repeat("g", frame.MaxGroupName)
	require.NoError(t, e.svc.st.InTx(ctx, func(tx Ops) error {
		for range groups {
			id, err := tx.CreateGroup(ctx, name, frame.GroupOpen, e.ids["alice"], 1)
			if err != nil {
				return err
			}
			if err := tx.AddMember(ctx, id, e.ids["alice"], frame.RoleOwner, 1); err != nil {
				return err
			}
		}
		return nil
	}))
	a := e.open("alice")
	var all []frame.Group
	var after uint64
	pages := 0
	for {
		raw := e.must(a, &frame.GroupList{AfterGroupID: after})
		require.LessOrEqual(t, len(raw), netcode.DefaultMaxMessageSize, "page %d does not fit a frame", pages)
		gl := decodeAs(t, raw, &frame.GroupListResult{})
		require.NotEmpty(t, gl.Groups)
		all = append(all, gl.Groups...)
		pages++
		if !gl.More {
			break
		}
		after = gl.Groups[len(gl.Groups)-1].ID
	}
	assert.Greater(t, pages, 1)
	require.Len(t, all, groups)
	for i := 1; i < len(all); i++ {
		require.Greater(t, all[i].ID, all[i-1].ID, "each group once, in order")
	}
	assert.GreaterOrEqual(t, e.svc.Stats().ListsCut, uint64(1))
	http, err := e.svc.Groups(ctx, e.ids["alice"]) // the HTTP list is whole
	require.NoError(t, err)
	assert.Len(t, http, groups)
}

// A user holds at most MaxPendingInvites invitations; inviting again to
// the same group is no new invitation.
func TestPendingInvitationsCapped(t *testing.T) {
	e := newEnv(t, Config{MaxPendingInvites: 2}, "owner", "bob")
	o, b := e.open("owner"), e.open("bob")
	var ids []uint64
	for _, n := range []string{"one", "two", "three"} {
		ids = append(ids, decodeAs(t, e.must(o, &frame.GroupCreate{Name: n}), &frame.GroupResult{}).Group.ID)
	}
	e.must(o, &frame.GroupInvite{GroupID: ids[0], UserID: e.ids["bob"]})
	e.must(o, &frame.GroupInvite{GroupID: ids[1], UserID: e.ids["bob"]})
	_, err := e.call(o, &frame.GroupInvite{GroupID: ids[2], UserID: e.ids["bob"]})
	require.ErrorIs(t, err, netcode.CodeSocialLimit)
	assert.Equal(t, uint64(1), e.svc.Stats().Refused.SocialLimit)
	e.must(o, &frame.GroupInvite{GroupID: ids[0], UserID: e.ids["bob"]}) // again: not a new one
	e.must(b, &frame.GroupDecline{GroupID: ids[0]})
	e.must(o, &frame.GroupInvite{GroupID: ids[2], UserID: e.ids["bob"]})
	gl := decodeAs(t, e.must(b, &frame.GroupList{}), &frame.GroupListResult{})
	assert.Len(t, gl.Groups, 2)
}

// Group names and status texts pass the one text rule: bidi overrides
// and zero-width characters are refused with a code; text is NFC.
func TestGroupNameAndStatusTextRule(t *testing.T) {
	e := newEnv(t, Config{MaxStatusText: 16}, "alice")
	a := e.open("alice")
	e.synced(a)
	for _, bad := range []string{"evil\u202Eeman", "zero\u200Bwidth", "bell\a"} {
		_, err := e.call(a, &frame.GroupCreate{Name: bad, Open: true})
		require.ErrorIs(t, err, netcode.CodeBadGroupName, "%q", bad)
		_, err = e.call(a, &frame.SetPresence{Presence: frame.PresenceOnline, StatusText: bad})
		require.ErrorIs(t, err, netcode.CodeBadText, "%q", bad)
	}
	_, err := e.call(a, &frame.SetPresence{Presence: frame.PresenceOnline, StatusText: strings.Repeat("s", 17)})
	require.ErrorIs(t, err, netcode.CodeBadText, "MaxStatusText")
	g := decodeAs(t, e.must(a, &frame.GroupCreate{Name: "cafe\u0301", Open: true}), &frame.GroupResult{}).Group
	assert.Equal(t, "caf\u00e9", g.Name, "stored in NFC")
	e.must(a, &frame.SetPresence{Presence: frame.PresenceAway, StatusText: " afk "})
	_, text := e.svc.Presence(e.ids["alice"])
	assert.Equal(t, "afk", text)
}
