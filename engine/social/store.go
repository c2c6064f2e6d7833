package social

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tickwire/tickwire/netcode/frame"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// storage is the social domain's persistence: every query the service
// makes, so that the SQL dialect lives in this file only. sqlStore
// (SQLite, the default) implements it; a PostgreSQL store would implement
// the same methods with its own SQL (placeholders, RETURNING, upserts,
// GREATEST for SQLite's scalar max) and be chosen in New.
type storage interface {
	ops // each call on its own, outside a transaction
	// inTx runs fn in one write transaction: committed if fn returns nil,
	// rolled back otherwise.
	inTx(ctx context.Context, fn func(tx ops) error) error
	relations(ctx context.Context, a, after string) ([]relationRow, error)
	friendIDs(ctx context.Context, a string) ([]string, error)
	status(ctx context.Context, user string) (statusRow, error)
	setStatus(ctx context.Context, user, text string, away bool) error
	setLastSeen(ctx context.Context, user string, us int64) error
	cursor(ctx context.Context, user string) (uint64, error)
	advanceCursor(ctx context.Context, user string, id uint64) error
	insertMessage(ctx context.Context, m *frame.ChatMessage) error
	inbox(ctx context.Context, user string, after uint64, n int) ([]frame.ChatMessage, error)
	history(ctx context.Context, groupID uint64, conv string, before uint64, n int) ([]frame.ChatMessage, bool, error)
	userGroups(ctx context.Context, user string) ([]frame.Group, error)
}

// ops are the reads and writes of friend relations and group membership,
// usable inside a transaction (inTx) or alone.
type ops interface {
	relation(ctx context.Context, a, b string) (frame.FriendState, error)
	setRelation(ctx context.Context, a, b string, state frame.FriendState, nowUs int64) error
	clearRelation(ctx context.Context, a, b string) error
	deleteBlock(ctx context.Context, a, b string) error
	countRelations(ctx context.Context, a string) (int, error)
	group(ctx context.Context, id uint64) (groupRow, error)
	role(ctx context.Context, groupID uint64, user string) (frame.Role, error)
	members(ctx context.Context, groupID uint64, after string, n int) ([]memberRow, error)
	countGroupsOf(ctx context.Context, user string) (int, error)
	countMembers(ctx context.Context, groupID uint64) (int, error)
	invited(ctx context.Context, groupID uint64, user string) (bool, error)
	createGroup(ctx context.Context, name string, open bool, owner string, nowUs int64) (uint64, error)
	addMember(ctx context.Context, groupID uint64, user string, r frame.Role, nowUs int64) error
	removeMember(ctx context.Context, groupID uint64, user string) error
	setMemberRole(ctx context.Context, groupID uint64, user string, r frame.Role) error
	addInvite(ctx context.Context, groupID uint64, user, inviter string, nowUs int64) error
	deleteInvite(ctx context.Context, groupID uint64, user string) (bool, error)
	nextOwner(ctx context.Context, groupID uint64) (string, bool, error)
	deleteGroup(ctx context.Context, groupID uint64) error
	setOwner(ctx context.Context, groupID uint64, owner string) error
}

var _ storage = (*sqlStore)(nil)

// sqlStore is the SQLite store. It is stateless apart from the *sql.DB,
// which is safe for concurrent use.
type sqlStore struct {
	sqlOps // on the *sql.DB
	db     *sql.DB
}

func newSQLStore(db *sql.DB) *sqlStore { return &sqlStore{sqlOps: sqlOps{q: db}, db: db} }

// sqlOps implements ops on a *sql.DB or a *sql.Tx.
type sqlOps struct{ q querier }

func dbErr(op string, err error) error { return fmt.Errorf("social: %s: %w", op, err) }

// inTx runs fn in a write transaction.
func (st *sqlStore) inTx(ctx context.Context, fn func(tx ops) error) error {
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
func (o sqlOps) relation(ctx context.Context, a, b string) (frame.FriendState, error) {
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

func (o sqlOps) setRelation(ctx context.Context, a, b string, state frame.FriendState, nowUs int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO social_friends (user_id, other_id, state, since_us) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, other_id) DO UPDATE SET state = excluded.state, since_us = excluded.since_us`, a, b, state, nowUs)
	if err != nil {
		return dbErr("set relation", err)
	}
	return nil
}

// clearRelation deletes (a, b) unless it is a block.
func (o sqlOps) clearRelation(ctx context.Context, a, b string) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM social_friends WHERE user_id = ? AND other_id = ? AND state != ?`, a, b, frame.FriendBlocked)
	if err != nil {
		return dbErr("clear relation", err)
	}
	return nil
}

func (o sqlOps) countRelations(ctx context.Context, a string) (int, error) {
	var n int
	err := o.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM social_friends WHERE user_id = ? AND state != ?`, a, frame.FriendBlocked).Scan(&n)
	if err != nil {
		return 0, dbErr("count friends", err)
	}
	return n, nil
}

type relationRow struct {
	OtherID    string
	State      frame.FriendState
	StatusText string
	Away       bool
	LastSeenUs int64
}

// relations lists every row of a with the other user's stored status.
func (st *sqlStore) relations(ctx context.Context, a, after string) ([]relationRow, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT f.other_id, f.state, COALESCE(s.text, ''), COALESCE(s.away, 0), COALESCE(s.last_seen_us, 0)
		FROM social_friends f LEFT JOIN social_status s ON s.user_id = f.other_id
		WHERE f.user_id = ? AND f.other_id > ? ORDER BY f.other_id`, a, after)
	if err != nil {
		return nil, dbErr("relations", err)
	}
	defer rows.Close()
	var out []relationRow
	for rows.Next() {
		var r relationRow
		if err := rows.Scan(&r.OtherID, &r.State, &r.StatusText, &r.Away, &r.LastSeenUs); err != nil {
			return nil, dbErr("relations", err)
		}
		out = append(out, r)
	}
	return out, dbErrOrNil("relations", rows.Err())
}

// friendIDs lists a's accepted friends.
func (st *sqlStore) friendIDs(ctx context.Context, a string) ([]string, error) {
	return st.strings(ctx, "friends", `SELECT other_id FROM social_friends WHERE user_id = ? AND state = ?`, a, frame.FriendAccepted)
}

func (st *sqlStore) strings(ctx context.Context, op, query string, args ...any) ([]string, error) {
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

type statusRow struct {
	Text       string
	Away       bool
	LastSeenUs int64
}

func (st *sqlStore) status(ctx context.Context, user string) (statusRow, error) {
	var s statusRow
	err := st.db.QueryRowContext(ctx, `SELECT text, away, last_seen_us FROM social_status WHERE user_id = ?`, user).Scan(&s.Text, &s.Away, &s.LastSeenUs)
	if errors.Is(err, sql.ErrNoRows) {
		return statusRow{}, nil
	}
	if err != nil {
		return s, dbErr("status", err)
	}
	return s, nil
}

func (st *sqlStore) setStatus(ctx context.Context, user, text string, away bool) error {
	_, err := st.db.ExecContext(ctx, `INSERT INTO social_status (user_id, text, away) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET text = excluded.text, away = excluded.away`, user, text, away)
	return dbErrOrNil("set status", err)
}

func (st *sqlStore) setLastSeen(ctx context.Context, user string, us int64) error {
	_, err := st.db.ExecContext(ctx, `INSERT INTO social_status (user_id, last_seen_us) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET last_seen_us = excluded.last_seen_us`, user, us)
	return dbErrOrNil("set last seen", err)
}

func (st *sqlStore) cursor(ctx context.Context, user string) (uint64, error) {
	var id uint64
	err := st.db.QueryRowContext(ctx, `SELECT acked_id FROM social_cursors WHERE user_id = ?`, user).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, dbErrOrNil("cursor", err)
}

// advanceCursor moves user's cursor forward to id (never back).
func (st *sqlStore) advanceCursor(ctx context.Context, user string, id uint64) error {
	_, err := st.db.ExecContext(ctx, `INSERT INTO social_cursors (user_id, acked_id) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET acked_id = max(acked_id, excluded.acked_id)`, user, int64(id))
	return dbErrOrNil("advance cursor", err)
}

// ---- messages ----

// directConv names the direct conversation of a and b.
func directConv(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return "d:" + a + ":" + b
}

// insertMessage stores m (ID is filled in).
func (st *sqlStore) insertMessage(ctx context.Context, m *frame.ChatMessage) error {
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
func (st *sqlStore) inbox(ctx context.Context, user string, after uint64, n int) ([]frame.ChatMessage, error) {
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
func (st *sqlStore) history(ctx context.Context, groupID uint64, conv string, before uint64, n int) ([]frame.ChatMessage, bool, error) {
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

type groupRow struct {
	ID      uint64
	Name    string
	Open    bool
	OwnerID string
}

func (o sqlOps) group(ctx context.Context, id uint64) (groupRow, error) {
	var g groupRow
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
func (o sqlOps) role(ctx context.Context, groupID uint64, user string) (frame.Role, error) {
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
func (o sqlOps) addMember(ctx context.Context, groupID uint64, user string, r frame.Role, nowUs int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO social_members (group_id, user_id, role, after_id, joined_us)
		VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM social_messages), ?)`, int64(groupID), user, r, nowUs)
	return dbErrOrNil("add member", err)
}

type memberRow struct {
	UserID string
	Role   frame.Role
}

// members lists a group's members ordered by user id.
func (o sqlOps) members(ctx context.Context, groupID uint64, after string, n int) ([]memberRow, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT user_id, role FROM social_members WHERE group_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`, int64(groupID), after, n)
	if err != nil {
		return nil, dbErr("members", err)
	}
	defer rows.Close()
	var out []memberRow
	for rows.Next() {
		var m memberRow
		if err := rows.Scan(&m.UserID, &m.Role); err != nil {
			return nil, dbErr("members", err)
		}
		out = append(out, m)
	}
	return out, dbErrOrNil("members", rows.Err())
}

// deleteBlock removes a's block of b.
func (o sqlOps) deleteBlock(ctx context.Context, a, b string) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM social_friends WHERE user_id = ? AND other_id = ?`, a, b)
	return dbErrOrNil("unblock", err)
}

// countGroupsOf is the number of groups user is a member of.
func (o sqlOps) countGroupsOf(ctx context.Context, user string) (int, error) {
	return count(ctx, o.q, "count groups", `SELECT COUNT(*) FROM social_members WHERE user_id = ?`, user)
}

// countMembers is the number of members of a group.
func (o sqlOps) countMembers(ctx context.Context, groupID uint64) (int, error) {
	return count(ctx, o.q, "count members", `SELECT COUNT(*) FROM social_members WHERE group_id = ?`, int64(groupID))
}

// invited reports whether user has a pending invitation to the group.
func (o sqlOps) invited(ctx context.Context, groupID uint64, user string) (bool, error) {
	n, err := count(ctx, o.q, "invite", `SELECT COUNT(*) FROM social_invites WHERE group_id = ? AND user_id = ?`, int64(groupID), user)
	return n > 0, err
}

// createGroup inserts a group row and returns its id (the owner is added
// with addMember).
func (o sqlOps) createGroup(ctx context.Context, name string, open bool, owner string, nowUs int64) (uint64, error) {
	var id int64
	if err := o.q.QueryRowContext(ctx, `INSERT INTO social_groups (name, open, owner_id, created_us) VALUES (?, ?, ?, ?) RETURNING id`,
		name, open, owner, nowUs).Scan(&id); err != nil {
		return 0, dbErr("create group", err)
	}
	return uint64(id), nil
}

func (o sqlOps) removeMember(ctx context.Context, groupID uint64, user string) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM social_members WHERE group_id = ? AND user_id = ?`, int64(groupID), user)
	return dbErrOrNil("remove member", err)
}

func (o sqlOps) setMemberRole(ctx context.Context, groupID uint64, user string, r frame.Role) error {
	_, err := o.q.ExecContext(ctx, `UPDATE social_members SET role = ? WHERE group_id = ? AND user_id = ?`, r, int64(groupID), user)
	return dbErrOrNil("set role", err)
}

// addInvite records an invitation (a second one is a no-op).
func (o sqlOps) addInvite(ctx context.Context, groupID uint64, user, inviter string, nowUs int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO social_invites (group_id, user_id, inviter_id, created_us) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, user_id) DO NOTHING`, int64(groupID), user, inviter, nowUs)
	return dbErrOrNil("invite", err)
}

// deleteInvite removes an invitation and reports whether there was one.
func (o sqlOps) deleteInvite(ctx context.Context, groupID uint64, user string) (bool, error) {
	res, err := o.q.ExecContext(ctx, `DELETE FROM social_invites WHERE group_id = ? AND user_id = ?`, int64(groupID), user)
	if err != nil {
		return false, dbErr("delete invite", err)
	}
	n, err := res.RowsAffected()
	return n > 0, dbErrOrNil("delete invite", err)
}

// nextOwner is the member who inherits a group: the longest-standing
// admin, else member (ok false if none is left).
func (o sqlOps) nextOwner(ctx context.Context, groupID uint64) (string, bool, error) {
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

func (o sqlOps) deleteGroup(ctx context.Context, groupID uint64) error {
	_, err := o.q.ExecContext(ctx, `DELETE FROM social_groups WHERE id = ?`, int64(groupID))
	return dbErrOrNil("delete group", err)
}

// setOwner makes user the group's owner (role and owner_id).
func (o sqlOps) setOwner(ctx context.Context, groupID uint64, owner string) error {
	if err := o.setMemberRole(ctx, groupID, owner, frame.RoleOwner); err != nil {
		return err
	}
	_, err := o.q.ExecContext(ctx, `UPDATE social_groups SET owner_id = ? WHERE id = ?`, owner, int64(groupID))
	return dbErrOrNil("new owner", err)
}

// userGroups lists user's groups and pending invitations.
func (st *sqlStore) userGroups(ctx context.Context, user string) ([]frame.Group, error) {
	rows, err := st.db.QueryContext(ctx, `
SELECT g.id, g.name, g.open, m.role, (SELECT COUNT(*) FROM social_members c WHERE c.group_id = g.id), g.owner_id
FROM social_members m JOIN social_groups g ON g.id = m.group_id WHERE m.user_id = ?1
UNION ALL
SELECT g.id, g.name, g.open, 0, (SELECT COUNT(*) FROM social_members c WHERE c.group_id = g.id), g.owner_id
FROM social_invites i JOIN social_groups g ON g.id = i.group_id WHERE i.user_id = ?1
ORDER BY 1`, user)
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

// validGroupName trims and checks a group name.
func validGroupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > frame.MaxGroupName || !printable(name) {
		return "", ErrBadGroupName
	}
	return name, nil
}
