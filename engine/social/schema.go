package social

import "github.com/tickwire/tickwire/engine/store"

// Domain is the migration domain of this package's tables.
const Domain = "social"

// Migrations returns the social schema. Apply them after
// accounts.Migrations(): the tables reference users(id).
//
//	social_friends(user_id, other_id, state, since_us)   one row per direction
//	social_groups(id, name, open, owner_id, created_us)
//	social_members(group_id, user_id, role, after_id, joined_us)
//	social_invites(group_id, user_id, inviter_id, created_us)
//	social_messages(id, conv, group_id, from_id, to_id, from_name, created_us, body)
//	social_cursors(user_id, acked_id)                     per-recipient delivery state
//	social_status(user_id, text, away, last_seen_us)
func Migrations() []store.Migration {
	return []store.Migration{{
		Domain:  Domain,
		Version: 1,
		SQL: `
CREATE TABLE social_friends (
	user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	other_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	state    INTEGER NOT NULL,
	since_us INTEGER NOT NULL,
	PRIMARY KEY (user_id, other_id)
) WITHOUT ROWID;
CREATE TABLE social_groups (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL,
	open       INTEGER NOT NULL,
	owner_id   TEXT NOT NULL,
	created_us INTEGER NOT NULL
);
CREATE TABLE social_members (
	group_id  INTEGER NOT NULL REFERENCES social_groups(id) ON DELETE CASCADE,
	user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	role      INTEGER NOT NULL,
	after_id  INTEGER NOT NULL,
	joined_us INTEGER NOT NULL,
	PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX social_members_user ON social_members (user_id, group_id);
CREATE TABLE social_invites (
	group_id   INTEGER NOT NULL REFERENCES social_groups(id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	inviter_id TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX social_invites_user ON social_invites (user_id);
CREATE TABLE social_messages (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	conv       TEXT NOT NULL DEFAULT '',
	group_id   INTEGER NOT NULL DEFAULT 0,
	from_id    TEXT NOT NULL,
	to_id      TEXT NOT NULL DEFAULT '',
	from_name  TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	body       TEXT NOT NULL
);
CREATE INDEX social_messages_conv ON social_messages (conv, id) WHERE conv != '';
CREATE INDEX social_messages_to ON social_messages (to_id, id) WHERE to_id != '';
CREATE INDEX social_messages_group ON social_messages (group_id, id) WHERE group_id != 0;
CREATE TABLE social_cursors (
	user_id  TEXT PRIMARY KEY,
	acked_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE social_status (
	user_id      TEXT PRIMARY KEY,
	text         TEXT NOT NULL DEFAULT '',
	away         INTEGER NOT NULL DEFAULT 0,
	last_seen_us INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;`,
	}, {
		// Version 1's partial indexes are never chosen by SQLite's planner
		// for "to_id = ?"-style terms (a bound parameter does not prove the
		// index's WHERE): full indexes keep logins and history pages
		// independent of the table size.
		Domain:  Domain,
		Version: 2,
		SQL: `
DROP INDEX social_messages_conv;
DROP INDEX social_messages_to;
DROP INDEX social_messages_group;
CREATE INDEX social_messages_conv ON social_messages (conv, id);
CREATE INDEX social_messages_to ON social_messages (to_id, id);
CREATE INDEX social_messages_group ON social_messages (group_id, id);`,
	}}
}
