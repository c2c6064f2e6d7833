package social

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/tickwire/tickwire/netcode/frame"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store is the social domain's persistence: every query the service
// makes, so that the SQL dialect lives in the store only. SQLiteStore
// (the default, on Config.DB) implements it; a PostgreSQL store
// implements the same methods with its own SQL (placeholders, RETURNING,
// upserts, GREATEST for SQLite's scalar max) and is given as
// Config.Store. Every method must be safe for concurrent use. Lookups of
// a missing group return ErrGroupNotFound, of a missing membership
// ErrNotMember; other failures are wrapped database errors.
//
// The service calls it only from its own goroutines (request workers,
// backlog workers, the timer loop) and from HTTP handlers, never from a
// session's reader: a slow store delays social answers, not room inputs
// or pings.
type Store interface {
	Ops // each call on its own, outside a transaction
	// InTx runs fn in one write transaction: committed if fn returns
	// nil, rolled back otherwise (fn's error is returned as is).
	InTx(ctx context.Context, fn func(tx Ops) error) error
	// Relations lists every relation row of a with other_id above after,
	// ordered by other_id, with the other user's stored status.
	Relations(ctx context.Context, a, after string) ([]RelationRow, error)
	// FriendIDs lists a's accepted friends.
	FriendIDs(ctx context.Context, a string) ([]string, error)
	// Status is user's stored status (zero if none).
	Status(ctx context.Context, user string) (StatusRow, error)
	// SetStatus stores user's own presence (PresenceOnline or
	// PresenceAway) and status text.
	SetStatus(ctx context.Context, user string, p frame.Presence, text string) error
	SetLastSeen(ctx context.Context, user string, us int64) error
	// Cursor is user's acknowledgement cursor (0 if none).
	Cursor(ctx context.Context, user string) (uint64, error)
	// AdvanceCursor moves user's cursor forward to id, never back.
	AdvanceCursor(ctx context.Context, user string, id uint64) error
	// InsertMessage stores m and fills in m.ID, a monotonic id; it
	// returns only once the message is durable.
	InsertMessage(ctx context.Context, m *frame.ChatMessage) error
	// Inbox returns, in id order, at most n messages addressed to user
	// with an id above after (direct messages to them, messages of their
	// groups sent after they joined, not their own).
	Inbox(ctx context.Context, user string, after uint64, n int) ([]frame.ChatMessage, error)
	// History returns, oldest first, at most n messages of a
	// conversation (a group's, or the direct one named by conv) with an
	// id below before (0: from the newest), and whether older ones exist.
	History(ctx context.Context, groupID uint64, conv string, before uint64, n int) ([]frame.ChatMessage, bool, error)
	// UserGroups lists, by group id, at most n of user's groups and
	// pending invitations (Role frame.RoleInvited) with an id above after.
	UserGroups(ctx context.Context, user string, after uint64, n int) ([]frame.Group, error)
}

// Ops are the reads and writes of friend relations and group membership,
// usable inside a transaction (Store.InTx) or alone.
type Ops interface {
	// Relation is how a sees b (frame.FriendNone without a row).
	Relation(ctx context.Context, a, b string) (frame.FriendState, error)
	SetRelation(ctx context.Context, a, b string, state frame.FriendState, nowUs int64) error
	// ClearRelation deletes (a, b) unless it is a block.
	ClearRelation(ctx context.Context, a, b string) error
	// DeleteBlock removes a's block of b.
	DeleteBlock(ctx context.Context, a, b string) error
	// CountRelations counts a's friends and pending requests (not blocks).
	CountRelations(ctx context.Context, a string) (int, error)
	Group(ctx context.Context, id uint64) (GroupRow, error)
	// Role is user's role in the group, or ErrNotMember.
	Role(ctx context.Context, groupID uint64, user string) (frame.Role, error)
	// Members lists at most n members ordered by user id, after after.
	Members(ctx context.Context, groupID uint64, after string, n int) ([]MemberRow, error)
	CountGroupsOf(ctx context.Context, user string) (int, error)
	CountMembers(ctx context.Context, groupID uint64) (int, error)
	// Invited reports whether user has a pending invitation to the group.
	Invited(ctx context.Context, groupID uint64, user string) (bool, error)
	// CountInvites is the number of user's pending invitations.
	CountInvites(ctx context.Context, user string) (int, error)
	// CreateGroup inserts a group and returns its id (the owner is added
	// with AddMember).
	CreateGroup(ctx context.Context, name string, access frame.GroupAccess, owner string, nowUs int64) (uint64, error)
	// AddMember inserts a member; messages above the newest id are theirs.
	AddMember(ctx context.Context, groupID uint64, user string, r frame.Role, nowUs int64) error
	RemoveMember(ctx context.Context, groupID uint64, user string) error
	SetMemberRole(ctx context.Context, groupID uint64, user string, r frame.Role) error
	// AddInvite records an invitation (a second one is a no-op).
	AddInvite(ctx context.Context, groupID uint64, user, inviter string, nowUs int64) error
	// DeleteInvite removes an invitation and reports whether there was one.
	DeleteInvite(ctx context.Context, groupID uint64, user string) (bool, error)
	// NextOwner is the member who inherits a group: the longest-standing
	// admin, else member (false if none is left).
	NextOwner(ctx context.Context, groupID uint64) (string, bool, error)
	DeleteGroup(ctx context.Context, groupID uint64) error
	// SetOwner makes user the group's owner (role and owner).
	SetOwner(ctx context.Context, groupID uint64, owner string) error
}

var _ Store = (*SQLiteStore)(nil)

// SQLiteStore is the SQLite Store. It is stateless apart from the
// *sql.DB, which is safe for concurrent use.
type SQLiteStore struct {
	sqlOps // on the *sql.DB
	db     *sql.DB
}

// NewSQLiteStore returns the Store on db, migrated with
// accounts.Migrations() and then Migrations().
func NewSQLiteStore(db *sql.DB) *SQLiteStore {
	return &SQLiteStore{sqlOps: sqlOps{q: db}, db: db}
}

// sqlOps implements Ops on a *sql.DB or a *sql.Tx.
type sqlOps struct{ q querier }

func dbErr(op string, err error) error { return fmt.Errorf("social: %s: %w", op, err) }

// inTx runs fn in a write transaction.
func (st *SQLiteStore) InTx(ctx context.Context, fn func(tx Ops) error) error {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return dbErr("begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(sqlOps{q: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr("commit", err)
	}
	return nil
}

// ---- friends ----

// relation is the state of the row (a, b): how a sees b.
func (o sqlOps) Relation(ctx context.Context, a, b string) (frame.FriendState, error) {
	var s frame.FriendState
	err := o.q.QueryRowContext(ctx, `SELECT state FROM social_friends WHERE user_id = ? AND other_id = ?`, a, b).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return frame.FriendNone, nil
	}
	if err != nil {
		return 0, dbErr("relation", err)
	}
	return s, nil
}

func (o sqlOps) SetRelation(ctx context.Context, a, b string, state frame.FriendState, nowUs int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO social_friends (user_id, other_id, state, since_us) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, other_id) DO UPDATE SET state = excluded.state, since_us = excluded.since_us`, a, b, state, nowUs)
	if err != nil {
		return dbErr("set relation", err)
	}
	return nil
}

// clearRelation deletes (a, b) unless it is a block.
func (o sqlOps) ClearRelation(ctx context.Context, a, b string) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM social_friends WHERE user_id = ? AND other_id = ? AND state != ?`, a, b, frame.FriendBlocked)
	if err != nil {
		return dbErr("clear relation", err)
	}
	return nil
}

func (o sqlOps) CountRelations(ctx context.Context, a string) (int, error) {
	var n int
	err := o.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM social_friends WHERE user_id = ? AND state != ?`, a, frame.FriendBlocked).Scan(&n)
	if err != nil {
		return 0, dbErr("count friends", err)
	}
	return n, nil
}

type RelationRow struct {
	OtherID    string
	State      frame.FriendState
	StatusText string
	Away       bool
	LastSeenUs int64
}

// relations lists every row of a with the other user's stored status.
func (st *SQLiteStore) Relations(ctx context.Context, a, after string) ([]RelationRow, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT f.other_id, f.state, COALESCE(s.text, ''), COALESCE(s.away, 0), COALESCE(s.last_seen_us, 0)
		FROM social_friends f LEFT JOIN social_status s ON s.user_id = f.other_id
		WHERE f.user_id = ? AND f.other_id > ? ORDER BY f.other_id`, a, after)
	if err != nil {
		return nil, dbErr("relations", err)
	}
	defer rows.Close()
	var out []RelationRow
	for rows.Next() {
		var r RelationRow
		if err := rows.Scan(&r.OtherID, &r.State, &r.StatusText, &r.Away, &r.LastSeenUs); err != nil {
			return nil, dbErr("relations", err)
		}
		out = append(out, r)
	}
	return out, dbErrOrNil("relations", rows.Err())
}

// friendIDs lists a's accepted friends.
func (st *SQLiteStore) FriendIDs(ctx context.Context, a string) ([]string, error) {
	return st.strings(ctx, "friends", `SELECT other_id FROM social_friends WHERE user_id = ? AND state = ?`, a, frame.FriendAccepted)
}

func (st *SQLiteStore) strings(ctx context.Context, op, query string, args ...any) ([]string, error) {
	rows, err := st.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, s)
	}
	return out, dbErrOrNil(op, rows.Err())
}

func dbErrOrNil(op string, err error) error {
	if err != nil {
		return dbErr(op, err)
	}
	return nil
}

// ---- status and cursors ----

type StatusRow struct {
	Text       string
	Away       bool
	LastSeenUs int64
}

func (st *SQLiteStore) Status(ctx context.Context, user string) (StatusRow, error) {
	var s StatusRow
	err := st.db.QueryRowContext(ctx, `SELECT text, away, last_seen_us FROM social_status WHERE user_id = ?`, user).Scan(&s.Text, &s.Away, &s.LastSeenUs)
	if errors.Is(err, sql.ErrNoRows) {
		return StatusRow{}, nil
	}
	if err != nil {
		return s, dbErr("status", err)
	}
	return s, nil
}

func (st *SQLiteStore) SetStatus(ctx context.Context, user string, p frame.Presence, text string) error {
	_, err := st.db.ExecContext(ctx, `INSERT INTO social_status (user_id, text, away) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET text = excluded.text, away = excluded.away`, user, text, p == frame.PresenceAway)
	return dbErrOrNil("set status", err)
}

func (st *SQLiteStore) SetLastSeen(ctx context.Context, user string, us int64) error {
	_, err := st.db.ExecContext(ctx, `INSERT INTO social_status (user_id, last_seen_us) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET last_seen_us = excluded.last_seen_us`, user, us)
	return dbErrOrNil("set last seen", err)
}

func (st *SQLiteStore) Cursor(ctx context.Context, user string) (uint64, error) {
	var id uint64
	err := st.db.QueryRowContext(ctx, `SELECT acked_id FROM social_cursors WHERE user_id = ?`, user).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, dbErrOrNil("cursor", err)
}

// advanceCursor moves user's cursor forward to id (never back).
func (st *SQLiteStore) AdvanceCursor(ctx context.Context, user string, id uint64) error {
	_, err := st.db.ExecContext(ctx, `INSERT INTO social_cursors (user_id, acked_id) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET acked_id = max(acked_id, excluded.acked_id)`, user, int64(id))
	return dbErrOrNil("advance cursor", err)
}

// ---- messages ----

// DirectConv names the direct conversation of a and b, in either order
// (the conv argument of Store.History).
func DirectConv(a, b string) string { return directConv(a, b) }

// directConv names the direct conversation of a and b.
func directConv(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

// insertMessage stores m (ID is filled in).
func (st *SQLiteStore) InsertMessage(ctx context.Context, m *frame.ChatMessage) error {
	conv := ""
	if m.GroupID == 0 {
		conv = directConv(m.FromUserID, m.ToUserID)
	}
	var id int64
	err := st.db.QueryRowContext(ctx, `INSERT INTO social_messages (conv, group_id, from_id, to_id, from_name, created_us, body)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		conv, int64(m.GroupID), m.FromUserID, m.ToUserID, m.FromName, m.TimeUs, m.Body).Scan(&id)
	if err != nil {
		return dbErr("insert message", err)
	}
	m.ID = uint64(id)
	return nil
}

func scanMessages(rows *sql.Rows, op string) ([]frame.ChatMessage, error) {
	defer rows.Close()
	var out []frame.ChatMessage
	for rows.Next() {
		var m frame.ChatMessage
		var id, gid int64
		if err := rows.Scan(&id, &gid, &m.FromUserID, &m.ToUserID, &m.TimeUs, &m.Body, &m.FromName); err != nil {
			return nil, dbErr(op, err)
		}
		m.ID, m.GroupID = uint64(id), uint64(gid)
		out = append(out, m)
	}
	return out, dbErrOrNil(op, rows.Err())
}

// inbox returns, in id order, at most n messages addressed to user with
// an id above after: direct messages to them and messages of their groups
// sent after they joined, not their own.
func (st *SQLiteStore) Inbox(ctx context.Context, user string, after uint64, n int) ([]frame.ChatMessage, error) {
	rows, err := st.db.QueryContext(ctx, `
SELECT id, group_id, from_id, to_id, created_us, body, from_name FROM (
	SELECT id, group_id, from_id, to_id, created_us, body, from_name FROM social_messages
	WHERE to_id = ?1 AND id > ?2
	UNION ALL
	SELECT m.id, m.group_id, m.from_id, m.to_id, m.created_us, m.body, m.from_name
	FROM social_members g JOIN social_messages m ON m.group_id = g.group_id AND m.id > max(?2, g.after_id)
	WHERE g.user_id = ?1 AND m.from_id != ?1
) ORDER BY id LIMIT ?3`, user, int64(after), n)
	if err != nil {
		return nil, dbErr("inbox", err)
	}
	return scanMessages(rows, "inbox")
}

// history returns, oldest first, at most n messages of a conversation
// with an id below before, and whether older ones exist.
func (st *SQLiteStore) History(ctx context.Context, groupID uint64, conv string, before uint64, n int) ([]frame.ChatMessage, bool, error) {
	if before == 0 || before > math.MaxInt64 {
		before = math.MaxInt64
	}
	var rows *sql.Rows
	var err error
	const cols = `SELECT id, group_id, from_id, to_id, created_us, body, from_name FROM social_messages `
	if groupID != 0 {
		rows, err = st.db.QueryContext(ctx, cols+`WHERE group_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, int64(groupID), int64(before), n+1)
	} else {
		rows, err = st.db.QueryContext(ctx, cols+`WHERE conv = ? AND id < ? ORDER BY id DESC LIMIT ?`, conv, int64(before), n+1)
	}
	if err != nil {
		return nil, false, dbErr("history", err)
	}
	msgs, err := scanMessages(rows, "history")
	if err != nil {
		return nil, false, err
	}
	more := len(msgs) > n
	if more {
		msgs = msgs[:n]
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, more, nil
}

// ---- groups ----

type GroupRow struct {
	ID      uint64
	Name    string
	Open    bool
	OwnerID string
}

func (o sqlOps) Group(ctx context.Context, id uint64) (GroupRow, error) {
	var g GroupRow
	var gid int64
	err := o.q.QueryRowContext(ctx, `SELECT id, name, open, owner_id FROM social_groups WHERE id = ?`, int64(id)).Scan(&gid, &g.Name, &g.Open, &g.OwnerID)
	if errors.Is(err, sql.ErrNoRows) {
		return g, ErrGroupNotFound
	}
	if err != nil {
		return g, dbErr("group", err)
	}
	g.ID = uint64(gid)
	return g, nil
}

// role returns user's role in the group, or ErrNotMember.
func (o sqlOps) Role(ctx context.Context, groupID uint64, user string) (frame.Role, error) {
	var r frame.Role
	err := o.q.QueryRowContext(ctx, `SELECT role FROM social_members WHERE group_id = ? AND user_id = ?`, int64(groupID), user).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotMember
	}
	if err != nil {
		return 0, dbErr("role", err)
	}
	return r, nil
}

func count(ctx context.Context, q querier, op, query string, args ...any) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, dbErr(op, err)
	}
	return n, nil
}

// addMember inserts user with role; messages above the newest id are
// theirs.
func (o sqlOps) AddMember(ctx context.Context, groupID uint64, user string, r frame.Role, nowUs int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO social_members (group_id, user_id, role, after_id, joined_us)
		VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM social_messages), ?)`, int64(groupID), user, r, nowUs)
	return dbErrOrNil("add member", err)
}

type MemberRow struct {
	UserID string
	Role   frame.Role
}

// members lists a group's members ordered by user id.
func (o sqlOps) Members(ctx context.Context, groupID uint64, after string, n int) ([]MemberRow, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT user_id, role FROM social_members WHERE group_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`, int64(groupID), after, n)
	if err != nil {
		return nil, dbErr("members", err)
	}
	defer rows.Close()
	var out []MemberRow
	for rows.Next() {
		var m MemberRow
		if err := rows.Scan(&m.UserID, &m.Role); err != nil {
			return nil, dbErr("members", err)
		}
		out = append(out, m)
	}
	return out, dbErrOrNil("members", rows.Err())
}

// deleteBlock removes a's block of b.
func (o sqlOps) DeleteBlock(ctx context.Context, a, b string) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM social_friends WHERE user_id = ? AND other_id = ?`, a, b)
	return dbErrOrNil("unblock", err)
}

// countGroupsOf is the number of groups user is a member of.
func (o sqlOps) CountGroupsOf(ctx context.Context, user string) (int, error) {
	return count(ctx, o.q, "count groups", `SELECT COUNT(*) FROM social_members WHERE user_id = ?`, user)
}

// countMembers is the number of members of a group.
func (o sqlOps) CountMembers(ctx context.Context, groupID uint64) (int, error) {
	return count(ctx, o.q, "count members", `SELECT COUNT(*) FROM social_members WHERE group_id = ?`, int64(groupID))
}

// Invited reports whether user has a pending invitation to the group.
func (o sqlOps) Invited(ctx context.Context, groupID uint64, user string) (bool, error) {
	n, err := count(ctx, o.q, "invite", `SELECT COUNT(*) FROM social_invites WHERE group_id = ? AND user_id = ?`, int64(groupID), user)
	return n > 0, err
}

// CountInvites is the number of user's pending invitations.
func (o sqlOps) CountInvites(ctx context.Context, user string) (int, error) {
	return count(ctx, o.q, "count invites", `SELECT COUNT(*) FROM social_invites WHERE user_id = ?`, user)
}

// CreateGroup inserts a group row and returns its id (the owner is added
// with AddMember).
func (o sqlOps) CreateGroup(ctx context.Context, name string, access frame.GroupAccess, owner string, nowUs int64) (uint64, error) {
	var id int64
	if err := o.q.QueryRowContext(ctx, `INSERT INTO social_groups (name, open, owner_id, created_us) VALUES (?, ?, ?, ?) RETURNING id`,
		name, access == frame.GroupOpen, owner, nowUs).Scan(&id); err != nil {
		return 0, dbErr("create group", err)
	}
	return uint64(id), nil
}

func (o sqlOps) RemoveMember(ctx context.Context, groupID uint64, user string) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM social_members WHERE group_id = ? AND user_id = ?`, int64(groupID), user)
	return dbErrOrNil("remove member", err)
}

func (o sqlOps) SetMemberRole(ctx context.Context, groupID uint64, user string, r frame.Role) error {
	_, err := o.q.ExecContext(ctx, `UPDATE social_members SET role = ? WHERE group_id = ? AND user_id = ?`, r, int64(groupID), user)
	return dbErrOrNil("set role", err)
}

// addInvite records an invitation (a second one is a no-op).
func (o sqlOps) AddInvite(ctx context.Context, groupID uint64, user, inviter string, nowUs int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO social_invites (group_id, user_id, inviter_id, created_us) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, user_id) DO NOTHING`, int64(groupID), user, inviter, nowUs)
	return dbErrOrNil("invite", err)
}

// deleteInvite removes an invitation and reports whether there was one.
func (o sqlOps) DeleteInvite(ctx context.Context, groupID uint64, user string) (bool, error) {
	res, err := o.q.ExecContext(ctx, `DELETE FROM social_invites WHERE group_id = ? AND user_id = ?`, int64(groupID), user)
	if err != nil {
		return false, dbErr("delete invite", err)
	}
	n, err := res.RowsAffected()
	return n > 0, dbErrOrNil("delete invite", err)
}

// nextOwner is the member who inherits a group: the longest-standing
// admin, else member (ok false if none is left).
func (o sqlOps) NextOwner(ctx context.Context, groupID uint64) (string, bool, error) {
	var id string
	err := o.q.QueryRowContext(ctx, `SELECT user_id FROM social_members WHERE group_id = ? ORDER BY role DESC, joined_us, user_id LIMIT 1`, int64(groupID)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, dbErr("next owner", err)
	}
	return id, true, nil
}

func (o sqlOps) DeleteGroup(ctx context.Context, groupID uint64) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM social_groups WHERE id = ?`, int64(groupID))
	return dbErrOrNil("delete group", err)
}

// setOwner makes user the group's owner (role and owner_id).
func (o sqlOps) SetOwner(ctx context.Context, groupID uint64, owner string) error {
	if err := o.SetMemberRole(ctx, groupID, owner, frame.RoleOwner); err != nil {
		return err
	}
	_, err := o.q.ExecContext(ctx, `UPDATE social_groups SET owner_id = ? WHERE id = ?`, owner, int64(groupID))
	return dbErrOrNil("new owner", err)
}

// UserGroups lists user's groups and pending invitations by group id.
func (st *SQLiteStore) UserGroups(ctx context.Context, user string, after uint64, n int) ([]frame.Group, error) {
	rows, err := st.db.QueryContext(ctx, `
SELECT g.id, g.name, g.open, m.role, (SELECT COUNT(*) FROM social_members c WHERE c.group_id = g.id), g.owner_id
FROM social_members m JOIN social_groups g ON g.id = m.group_id WHERE m.user_id = ?1 AND g.id > ?2
UNION ALL
SELECT g.id, g.name, g.open, 0, (SELECT COUNT(*) FROM social_members c WHERE c.group_id = g.id), g.owner_id
FROM social_invites i JOIN social_groups g ON g.id = i.group_id WHERE i.user_id = ?1 AND g.id > ?2
ORDER BY 1 LIMIT ?3`, user, int64(min(after, math.MaxInt64)), n)
	if err != nil {
		return nil, dbErr("user groups", err)
	}
	defer rows.Close()
	var out []frame.Group
	for rows.Next() {
		var g frame.Group
		var id int64
		if err := rows.Scan(&id, &g.Name, &g.Open, &g.Role, &g.Members, &g.OwnerID); err != nil {
			return nil, dbErr("user groups", err)
		}
		g.ID = uint64(id)
		out = append(out, g)
	}
	return out, dbErrOrNil("user groups", rows.Err())
}
