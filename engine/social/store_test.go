package social

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The delivery and history queries must search indexes, not scan the
// message table: a login or a history page costs the same with a million
// messages stored.
func TestMessageQueriesUseIndexes(t *testing.T) {
	e := newEnv(t, Config{}, "alice")
	for name, q := range map[string]string{
		"inbox direct":  `SELECT id FROM social_messages WHERE to_id = 'x' AND id > 5`,
		"inbox group":   `SELECT m.id FROM social_members g JOIN social_messages m ON m.group_id = g.group_id AND m.id > max(5, g.after_id) WHERE g.user_id = 'x' AND m.from_id != 'x'`,
		"history group": `SELECT id FROM social_messages WHERE group_id = 3 AND id < 100 ORDER BY id DESC LIMIT 5`,
		"history dm":    `SELECT id FROM social_messages WHERE conv = 'd:a:b' AND id < 100 ORDER BY id DESC LIMIT 5`,
	} {
		rows, err := e.svc.cfg.Store.(*SQLiteStore).db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Close())
		joined := strings.Join(plan, "; ")
		assert.NotContains(t, joined, "SCAN", name)
		assert.Contains(t, joined, "social_messages_", name)
	}
}
