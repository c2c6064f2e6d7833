package social

import (
	"context"
	"errors"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tickwire/tickwire/netcode/frame"
)

// The advisory locks of the PostgreSQL store (pg_advisory_xact_lock keys,
// held until the transaction ends).
const (
	// messageLockKey serializes message inserts across every node, so
	// that ids become visible in id order (see PostgresStore).
	messageLockKey int64 = 0x7469636b_6d736773 // "tickmsgs"
	// txLockKey serializes the social write transactions (InTx), as
	// SQLite's single writer does: their read-check-write steps (a cap
	// counted, then a row inserted) hold across nodes.
	txLockKey int64 = 0x7469636b_736f6378 // "ticksocx"
)

// PostgresStore is the Store on a PostgreSQL pool shared by every node of
// a cluster, migrated with accounts.PostgresMigrations() and then
// PostgresMigrations(). It holds nothing but the pool, which is safe for
// concurrent use.
//
// Message ids. The ack cursor (AdvanceCursor) promises that a reader who
// has seen id N has seen every message below N addressed to them. An
// identity column alone breaks that across nodes: node A takes id 10,
// node B takes id 11 and commits first, a reader's inbox returns 11 and
// its cursor moves past 10, which commits a moment later and is never
// delivered. So InsertMessage takes a transaction-level advisory lock
// before drawing the id and keeps it until its commit: ids are drawn and
// committed one transaction at a time, in id order, and a message
// visible to a reader has every lower id visible too (or rolled back, a
// gap nobody waits for). The lock, the insert and the commit go out in
// one round trip (a pipelined batch is one implicit transaction), so the
// lock is held for about one commit. The price is that message inserts
// are serialized cluster-wide: docs/CLUSTER.md, "Store", gives the
// numbers.
type PostgresStore struct {
	pgOps // on the pool
	pool  *pgxpool.Pool
}

var _ Store = (*PostgresStore)(nil)

// NewPostgresStore returns the Store on pool.
func NewPostgresStore(pool *pgxpool.Pool) *PostgresStore {
	return &PostgresStore{pgOps: pgOps{q: pool}, pool: pool}
}

// pgQuerier is what *pgxpool.Pool and pgx.Tx share.
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgOps implements Ops on the pool or a transaction.
type pgOps struct{ q pgQuerier }

// InTx runs fn in a transaction that first takes txLockKey.
func (st *PostgresStore) InTx(ctx context.Context, fn func(tx Ops) error) error {
	tx, err := st.pool.Begin(ctx)
	if err != nil {
		return dbErr("begin", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, txLockKey); err != nil {
		return dbErr("lock", err)
	}
	if err := fn(pgOps{q: tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbErr("commit", err)
	}
	return nil
}

// ---- friends ----

func (o pgOps) Relation(ctx context.Context, a, b string) (frame.FriendState, error) {
	var s frame.FriendState
	err := o.q.QueryRow(ctx, `SELECT state FROM social_friends WHERE user_id = $1 AND other_id = $2`, a, b).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return frame.FriendNone, nil
	}
	if err != nil {
		return 0, dbErr("relation", err)
	}
	return s, nil
}

func (o pgOps) SetRelation(ctx context.Context, a, b string, state frame.FriendState, nowUs int64) error {
	_, err := o.q.Exec(ctx, `INSERT INTO social_friends (user_id, other_id, state, since_us) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, other_id) DO UPDATE SET state = excluded.state, since_us = excluded.since_us`, a, b, int32(state), nowUs)
	return dbErrOrNil("set relation", err)
}

func (o pgOps) ClearRelation(ctx context.Context, a, b string) error {
	_, err := o.q.Exec(ctx, `DELETE FROM social_friends WHERE user_id = $1 AND other_id = $2 AND state <> $3`, a, b, int32(frame.FriendBlocked))
	return dbErrOrNil("clear relation", err)
}

func (o pgOps) CountRelations(ctx context.Context, a string) (int, error) {
	return pgCount(ctx, o.q, "count friends", `SELECT COUNT(*) FROM social_friends WHERE user_id = $1 AND state <> $2`, a, int32(frame.FriendBlocked))
}

func (o pgOps) DeleteBlock(ctx context.Context, a, b string) error {
	_, err := o.q.Exec(ctx, `DELETE FROM social_friends WHERE user_id = $1 AND other_id = $2`, a, b)
	return dbErrOrNil("unblock", err)
}

// Relations implements Store.
func (st *PostgresStore) Relations(ctx context.Context, a, after string) ([]RelationRow, error) {
	rows, err := st.pool.Query(ctx, `SELECT f.other_id, f.state, COALESCE(s.text, ''), COALESCE(s.away, false), COALESCE(s.last_seen_us, 0)
		FROM social_friends f LEFT JOIN social_status s ON s.user_id = f.other_id
		WHERE f.user_id = $1 AND f.other_id > $2 ORDER BY f.other_id`, a, after)
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

// FriendIDs implements Store.
func (st *PostgresStore) FriendIDs(ctx context.Context, a string) ([]string, error) {
	rows, err := st.pool.Query(ctx, `SELECT other_id FROM social_friends WHERE user_id = $1 AND state = $2`, a, int32(frame.FriendAccepted))
	if err != nil {
		return nil, dbErr("friends", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, dbErrOrNil("friends", err)
}

// ---- status and cursors ----

// Status implements Store.
func (st *PostgresStore) Status(ctx context.Context, user string) (StatusRow, error) {
	var s StatusRow
	err := st.pool.QueryRow(ctx, `SELECT text, away, last_seen_us FROM social_status WHERE user_id = $1`, user).Scan(&s.Text, &s.Away, &s.LastSeenUs)
	if errors.Is(err, pgx.ErrNoRows) {
		return StatusRow{}, nil
	}
	if err != nil {
		return StatusRow{}, dbErr("status", err)
	}
	return s, nil
}

// SetStatus implements Store.
func (st *PostgresStore) SetStatus(ctx context.Context, user string, p frame.Presence, text string) error {
	_, err := st.pool.Exec(ctx, `INSERT INTO social_status (user_id, text, away) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET text = excluded.text, away = excluded.away`, user, text, p == frame.PresenceAway)
	return dbErrOrNil("set status", err)
}

// SetLastSeen implements Store.
func (st *PostgresStore) SetLastSeen(ctx context.Context, user string, us int64) error {
	_, err := st.pool.Exec(ctx, `INSERT INTO social_status (user_id, last_seen_us) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET last_seen_us = excluded.last_seen_us`, user, us)
	return dbErrOrNil("set last seen", err)
}

// Cursor implements Store.
func (st *PostgresStore) Cursor(ctx context.Context, user string) (uint64, error) {
	var id int64
	err := st.pool.QueryRow(ctx, `SELECT acked_id FROM social_cursors WHERE user_id = $1`, user).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return uint64(id), dbErrOrNil("cursor", err)
}

// AdvanceCursor implements Store: GREATEST keeps the cursor from moving
// back when two nodes acknowledge out of order.
func (st *PostgresStore) AdvanceCursor(ctx context.Context, user string, id uint64) error {
	_, err := st.pool.Exec(ctx, `INSERT INTO social_cursors (user_id, acked_id) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET acked_id = GREATEST(social_cursors.acked_id, excluded.acked_id)`, user, int64(min(id, math.MaxInt64)))
	return dbErrOrNil("advance cursor", err)
}

// ---- messages ----

// InsertMessage implements Store: the advisory lock, the insert and the
// commit in one round trip (see PostgresStore). It returns once the
// commit is acknowledged, as durable as the server's synchronous_commit.
func (st *PostgresStore) InsertMessage(ctx context.Context, m *frame.ChatMessage) error {
	conv := ""
	if m.GroupID == 0 {
		conv = directConv(m.FromUserID, m.ToUserID)
	}
	var id int64
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, messageLockKey)
	b.Queue(`INSERT INTO social_messages (conv, group_id, from_id, to_id, from_name, created_us, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		conv, int64(m.GroupID), m.FromUserID, m.ToUserID, m.FromName, m.TimeUs, []byte(m.Body)).QueryRow(func(row pgx.Row) error {
		return row.Scan(&id)
	})
	// Close reads up to the end of the implicit transaction: an error of
	// the commit itself comes back here.
	if err := st.pool.SendBatch(ctx, b).Close(); err != nil {
		return dbErr("insert message", err)
	}
	m.ID = uint64(id)
	return nil
}

const pgMessageCols = `id, group_id, from_id, to_id, created_us, body, from_name`

func pgScanMessages(rows pgx.Rows, err error, op string) ([]frame.ChatMessage, error) {
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []frame.ChatMessage
	for rows.Next() {
		var m frame.ChatMessage
		var id, gid int64
		var body []byte // BYTEA: see PostgresMigrations
		if err := rows.Scan(&id, &gid, &m.FromUserID, &m.ToUserID, &m.TimeUs, &body, &m.FromName); err != nil {
			return nil, dbErr(op, err)
		}
		m.ID, m.GroupID, m.Body = uint64(id), uint64(gid), string(body)
		out = append(out, m)
	}
	return out, dbErrOrNil(op, rows.Err())
}

// Inbox implements Store.
func (st *PostgresStore) Inbox(ctx context.Context, user string, after uint64, n int) ([]frame.ChatMessage, error) {
	rows, err := st.pool.Query(ctx, `
SELECT `+pgMessageCols+` FROM (
	SELECT `+pgMessageCols+` FROM social_messages
	WHERE to_id = $1 AND id > $2
	UNION ALL
	SELECT m.id, m.group_id, m.from_id, m.to_id, m.created_us, m.body, m.from_name
	FROM social_members g JOIN social_messages m ON m.group_id = g.group_id AND m.id > GREATEST($2, g.after_id)
	WHERE g.user_id = $1 AND m.from_id <> $1
) inbox ORDER BY id LIMIT $3`, user, int64(min(after, math.MaxInt64)), n)
	return pgScanMessages(rows, err, "inbox")
}

// History implements Store.
func (st *PostgresStore) History(ctx context.Context, groupID uint64, conv string, before uint64, n int) ([]frame.ChatMessage, bool, error) {
	if before == 0 || before > math.MaxInt64 {
		before = math.MaxInt64
	}
	var msgs []frame.ChatMessage
	var err error
	if groupID != 0 {
		rows, qerr := st.pool.Query(ctx, `SELECT `+pgMessageCols+` FROM social_messages WHERE group_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
			int64(min(groupID, math.MaxInt64)), int64(before), n+1)
		msgs, err = pgScanMessages(rows, qerr, "history")
	} else {
		rows, qerr := st.pool.Query(ctx, `SELECT `+pgMessageCols+` FROM social_messages WHERE conv = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
			conv, int64(before), n+1)
		msgs, err = pgScanMessages(rows, qerr, "history")
	}
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

// pgID maps a uint64 group id onto BIGINT (ids above it name no group).
func pgID(id uint64) int64 { return int64(min(id, math.MaxInt64)) }

func (o pgOps) Group(ctx context.Context, id uint64) (GroupRow, error) {
	var g GroupRow
	var gid int64
	err := o.q.QueryRow(ctx, `SELECT id, name, open, owner_id FROM social_groups WHERE id = $1`, pgID(id)).Scan(&gid, &g.Name, &g.Open, &g.OwnerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return GroupRow{}, ErrGroupNotFound
	}
	if err != nil {
		return GroupRow{}, dbErr("group", err)
	}
	g.ID = uint64(gid)
	return g, nil
}

func (o pgOps) Role(ctx context.Context, groupID uint64, user string) (frame.Role, error) {
	var r frame.Role
	err := o.q.QueryRow(ctx, `SELECT role FROM social_members WHERE group_id = $1 AND user_id = $2`, pgID(groupID), user).Scan(&r)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotMember
	}
	if err != nil {
		return 0, dbErr("role", err)
	}
	return r, nil
}

func pgCount(ctx context.Context, q pgQuerier, op, query string, args ...any) (int, error) {
	var n int
	if err := q.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, dbErr(op, err)
	}
	return n, nil
}

func (o pgOps) AddMember(ctx context.Context, groupID uint64, user string, r frame.Role, nowUs int64) error {
	_, err := o.q.Exec(ctx, `INSERT INTO social_members (group_id, user_id, role, after_id, joined_us)
		VALUES ($1, $2, $3, (SELECT COALESCE(MAX(id), 0) FROM social_messages), $4)`, pgID(groupID), user, int32(r), nowUs)
	return dbErrOrNil("add member", err)
}

func (o pgOps) Members(ctx context.Context, groupID uint64, after string, n int) ([]MemberRow, error) {
	rows, err := o.q.Query(ctx, `SELECT user_id, role FROM social_members WHERE group_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`, pgID(groupID), after, n)
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

func (o pgOps) CountGroupsOf(ctx context.Context, user string) (int, error) {
	return pgCount(ctx, o.q, "count groups", `SELECT COUNT(*) FROM social_members WHERE user_id = $1`, user)
}

func (o pgOps) CountMembers(ctx context.Context, groupID uint64) (int, error) {
	return pgCount(ctx, o.q, "count members", `SELECT COUNT(*) FROM social_members WHERE group_id = $1`, pgID(groupID))
}

func (o pgOps) Invited(ctx context.Context, groupID uint64, user string) (bool, error) {
	n, err := pgCount(ctx, o.q, "invite", `SELECT COUNT(*) FROM social_invites WHERE group_id = $1 AND user_id = $2`, pgID(groupID), user)
	return n > 0, err
}

func (o pgOps) CountInvites(ctx context.Context, user string) (int, error) {
	return pgCount(ctx, o.q, "count invites", `SELECT COUNT(*) FROM social_invites WHERE user_id = $1`, user)
}

func (o pgOps) CreateGroup(ctx context.Context, name string, access frame.GroupAccess, owner string, nowUs int64) (uint64, error) {
	var id int64
	if err := o.q.QueryRow(ctx, `INSERT INTO social_groups (name, open, owner_id, created_us) VALUES ($1, $2, $3, $4) RETURNING id`,
		name, access == frame.GroupOpen, owner, nowUs).Scan(&id); err != nil {
		return 0, dbErr("create group", err)
	}
	return uint64(id), nil
}

func (o pgOps) RemoveMember(ctx context.Context, groupID uint64, user string) error {
	_, err := o.q.Exec(ctx, `DELETE FROM social_members WHERE group_id = $1 AND user_id = $2`, pgID(groupID), user)
	return dbErrOrNil("remove member", err)
}

func (o pgOps) SetMemberRole(ctx context.Context, groupID uint64, user string, r frame.Role) error {
	_, err := o.q.Exec(ctx, `UPDATE social_members SET role = $1 WHERE group_id = $2 AND user_id = $3`, int32(r), pgID(groupID), user)
	return dbErrOrNil("set role", err)
}

func (o pgOps) AddInvite(ctx context.Context, groupID uint64, user, inviter string, nowUs int64) error {
	_, err := o.q.Exec(ctx, `INSERT INTO social_invites (group_id, user_id, inviter_id, created_us) VALUES ($1, $2, $3, $4)
		ON CONFLICT (group_id, user_id) DO NOTHING`, pgID(groupID), user, inviter, nowUs)
	return dbErrOrNil("invite", err)
}

func (o pgOps) DeleteInvite(ctx context.Context, groupID uint64, user string) (bool, error) {
	tag, err := o.q.Exec(ctx, `DELETE FROM social_invites WHERE group_id = $1 AND user_id = $2`, pgID(groupID), user)
	if err != nil {
		return false, dbErr("delete invite", err)
	}
	return tag.RowsAffected() > 0, nil
}

func (o pgOps) NextOwner(ctx context.Context, groupID uint64) (string, bool, error) {
	var id string
	err := o.q.QueryRow(ctx, `SELECT user_id FROM social_members WHERE group_id = $1 ORDER BY role DESC, joined_us, user_id LIMIT 1`, pgID(groupID)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, dbErr("next owner", err)
	}
	return id, true, nil
}

func (o pgOps) DeleteGroup(ctx context.Context, groupID uint64) error {
	_, err := o.q.Exec(ctx, `DELETE FROM social_groups WHERE id = $1`, pgID(groupID))
	return dbErrOrNil("delete group", err)
}

func (o pgOps) SetOwner(ctx context.Context, groupID uint64, owner string) error {
	if err := o.SetMemberRole(ctx, groupID, owner, frame.RoleOwner); err != nil {
		return err
	}
	_, err := o.q.Exec(ctx, `UPDATE social_groups SET owner_id = $1 WHERE id = $2`, owner, pgID(groupID))
	return dbErrOrNil("new owner", err)
}

// UserGroups implements Store.
func (st *PostgresStore) UserGroups(ctx context.Context, user string, after uint64, n int) ([]frame.Group, error) {
	rows, err := st.pool.Query(ctx, `
SELECT g.id, g.name, g.open, m.role, (SELECT COUNT(*) FROM social_members c WHERE c.group_id = g.id), g.owner_id
FROM social_members m JOIN social_groups g ON g.id = m.group_id WHERE m.user_id = $1 AND g.id > $2
UNION ALL
SELECT g.id, g.name, g.open, 0, (SELECT COUNT(*) FROM social_members c WHERE c.group_id = g.id), g.owner_id
FROM social_invites i JOIN social_groups g ON g.id = i.group_id WHERE i.user_id = $1 AND g.id > $2
ORDER BY 1 LIMIT $3`, user, pgID(after), n)
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
