package social

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/internal/promx"
	"github.com/tickwire/tickwire/netcode/frame"
)

// storeOp names one Store call for the latency histogram.
type storeOp int

const (
	opRelations storeOp = iota
	opFriendIDs
	opStatus
	opSetStatus
	opSetLastSeen
	opCursor
	opAdvanceCursor
	opInsertMessage
	opInbox
	opHistory
	opUserGroups
	opRelation
	opSetRelation
	opClearRelation
	opDeleteBlock
	opCountRelations
	opGroup
	opRole
	opMembers
	opCountGroupsOf
	opCountMembers
	opInvited
	opCountInvites
	opCreateGroup
	opAddMember
	opRemoveMember
	opSetMemberRole
	opAddInvite
	opDeleteInvite
	opNextOwner
	opDeleteGroup
	opSetOwner
	opTx
	numStoreOps
)

var storeOpNames = [numStoreOps]string{"relations", "friend_i_ds", "status", "set_status", "set_last_seen", "cursor", "advance_cursor", "insert_message", "inbox", "history", "user_groups", "relation", "set_relation", "clear_relation", "delete_block", "count_relations", "group", "role", "members", "count_groups_of", "count_members", "invited", "count_invites", "create_group", "add_member", "remove_member", "set_member_role", "add_invite", "delete_invite", "next_owner", "delete_group", "set_owner", "tx"}

// newStoreLatency is the histogram of store call latencies by operation
// (tickwire_social_store_duration_seconds).
func newStoreLatency() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: promx.Namespace, Name: "social_store_duration_seconds",
		Help:    "Latency of the social store's calls, by operation (a transaction counts once, as tx).",
		Buckets: []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1, 5},
	}, []string{"op"})
}

// timedStore is a Store that observes each call's latency. The store is
// called only from the service's workers, never from a session's reader,
// so the observation (a few atomic adds) is off the frame path.
type timedStore struct {
	s   Store
	obs [numStoreOps]prometheus.Observer
}

var _ Store = (*timedStore)(nil)

func newTimedStore(s Store, lat *prometheus.HistogramVec) *timedStore {
	t := &timedStore{s: s}
	for i, name := range storeOpNames {
		t.obs[i] = lat.WithLabelValues(name)
	}
	return t
}

func (t *timedStore) observe(op storeOp, start time.Time) {
	t.obs[op].Observe(time.Since(start).Seconds())
}

// InTx times the whole transaction; the calls inside it are not timed
// one by one.
func (t *timedStore) InTx(ctx context.Context, fn func(tx Ops) error) error {
	defer t.observe(opTx, time.Now())
	return t.s.InTx(ctx, fn)
}

func (t *timedStore) Relations(ctx context.Context, a, after string) ([]RelationRow, error) {
	defer t.observe(opRelations, time.Now())
	return t.s.Relations(ctx, a, after)
}

func (t *timedStore) FriendIDs(ctx context.Context, a string) ([]string, error) {
	defer t.observe(opFriendIDs, time.Now())
	return t.s.FriendIDs(ctx, a)
}

func (t *timedStore) Status(ctx context.Context, user string) (StatusRow, error) {
	defer t.observe(opStatus, time.Now())
	return t.s.Status(ctx, user)
}

func (t *timedStore) SetStatus(ctx context.Context, user string, p frame.Presence, text string) error {
	defer t.observe(opSetStatus, time.Now())
	return t.s.SetStatus(ctx, user, p, text)
}

func (t *timedStore) SetLastSeen(ctx context.Context, user string, us int64) error {
	defer t.observe(opSetLastSeen, time.Now())
	return t.s.SetLastSeen(ctx, user, us)
}

func (t *timedStore) Cursor(ctx context.Context, user string) (uint64, error) {
	defer t.observe(opCursor, time.Now())
	return t.s.Cursor(ctx, user)
}

func (t *timedStore) AdvanceCursor(ctx context.Context, user string, id uint64) error {
	defer t.observe(opAdvanceCursor, time.Now())
	return t.s.AdvanceCursor(ctx, user, id)
}

func (t *timedStore) InsertMessage(ctx context.Context, m *frame.ChatMessage) error {
	defer t.observe(opInsertMessage, time.Now())
	return t.s.InsertMessage(ctx, m)
}

func (t *timedStore) Inbox(ctx context.Context, user string, after uint64, n int) ([]frame.ChatMessage, error) {
	defer t.observe(opInbox, time.Now())
	return t.s.Inbox(ctx, user, after, n)
}

func (t *timedStore) History(ctx context.Context, groupID uint64, conv string, before uint64, n int) ([]frame.ChatMessage, bool, error) {
	defer t.observe(opHistory, time.Now())
	return t.s.History(ctx, groupID, conv, before, n)
}

func (t *timedStore) UserGroups(ctx context.Context, user string, after uint64, n int) ([]frame.Group, error) {
	defer t.observe(opUserGroups, time.Now())
	return t.s.UserGroups(ctx, user, after, n)
}

func (t *timedStore) Relation(ctx context.Context, a, b string) (frame.FriendState, error) {
	defer t.observe(opRelation, time.Now())
	return t.s.Relation(ctx, a, b)
}

func (t *timedStore) SetRelation(ctx context.Context, a, b string, state frame.FriendState, nowUs int64) error {
	defer t.observe(opSetRelation, time.Now())
	return t.s.SetRelation(ctx, a, b, state, nowUs)
}

func (t *timedStore) ClearRelation(ctx context.Context, a, b string) error {
	defer t.observe(opClearRelation, time.Now())
	return t.s.ClearRelation(ctx, a, b)
}

func (t *timedStore) DeleteBlock(ctx context.Context, a, b string) error {
	defer t.observe(opDeleteBlock, time.Now())
	return t.s.DeleteBlock(ctx, a, b)
}

func (t *timedStore) CountRelations(ctx context.Context, a string) (int, error) {
	defer t.observe(opCountRelations, time.Now())
	return t.s.CountRelations(ctx, a)
}

func (t *timedStore) Group(ctx context.Context, id uint64) (GroupRow, error) {
	defer t.observe(opGroup, time.Now())
	return t.s.Group(ctx, id)
}

func (t *timedStore) Role(ctx context.Context, groupID uint64, user string) (frame.Role, error) {
	defer t.observe(opRole, time.Now())
	return t.s.Role(ctx, groupID, user)
}

func (t *timedStore) Members(ctx context.Context, groupID uint64, after string, n int) ([]MemberRow, error) {
	defer t.observe(opMembers, time.Now())
	return t.s.Members(ctx, groupID, after, n)
}

func (t *timedStore) CountGroupsOf(ctx context.Context, user string) (int, error) {
	defer t.observe(opCountGroupsOf, time.Now())
	return t.s.CountGroupsOf(ctx, user)
}

func (t *timedStore) CountMembers(ctx context.Context, groupID uint64) (int, error) {
	defer t.observe(opCountMembers, time.Now())
	return t.s.CountMembers(ctx, groupID)
}

func (t *timedStore) Invited(ctx context.Context, groupID uint64, user string) (bool, error) {
	defer t.observe(opInvited, time.Now())
	return t.s.Invited(ctx, groupID, user)
}

func (t *timedStore) CountInvites(ctx context.Context, user string) (int, error) {
	defer t.observe(opCountInvites, time.Now())
	return t.s.CountInvites(ctx, user)
}

func (t *timedStore) CreateGroup(ctx context.Context, name string, access frame.GroupAccess, owner string, nowUs int64) (uint64, error) {
	defer t.observe(opCreateGroup, time.Now())
	return t.s.CreateGroup(ctx, name, access, owner, nowUs)
}

func (t *timedStore) AddMember(ctx context.Context, groupID uint64, user string, r frame.Role, nowUs int64) error {
	defer t.observe(opAddMember, time.Now())
	return t.s.AddMember(ctx, groupID, user, r, nowUs)
}

func (t *timedStore) RemoveMember(ctx context.Context, groupID uint64, user string) error {
	defer t.observe(opRemoveMember, time.Now())
	return t.s.RemoveMember(ctx, groupID, user)
}

func (t *timedStore) SetMemberRole(ctx context.Context, groupID uint64, user string, r frame.Role) error {
	defer t.observe(opSetMemberRole, time.Now())
	return t.s.SetMemberRole(ctx, groupID, user, r)
}

func (t *timedStore) AddInvite(ctx context.Context, groupID uint64, user, inviter string, nowUs int64) error {
	defer t.observe(opAddInvite, time.Now())
	return t.s.AddInvite(ctx, groupID, user, inviter, nowUs)
}

func (t *timedStore) DeleteInvite(ctx context.Context, groupID uint64, user string) (bool, error) {
	defer t.observe(opDeleteInvite, time.Now())
	return t.s.DeleteInvite(ctx, groupID, user)
}

func (t *timedStore) NextOwner(ctx context.Context, groupID uint64) (string, bool, error) {
	defer t.observe(opNextOwner, time.Now())
	return t.s.NextOwner(ctx, groupID)
}

func (t *timedStore) DeleteGroup(ctx context.Context, groupID uint64) error {
	defer t.observe(opDeleteGroup, time.Now())
	return t.s.DeleteGroup(ctx, groupID)
}

func (t *timedStore) SetOwner(ctx context.Context, groupID uint64, owner string) error {
	defer t.observe(opSetOwner, time.Now())
	return t.s.SetOwner(ctx, groupID, owner)
}
