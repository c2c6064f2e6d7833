package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/server"
)

// The admin console polls the list calls every second: at Info they log
// nothing, while an action (a notice) is logged at Info.
func TestAdminListsLogAtDebugActionsAtInfo(t *testing.T) {
	var logs lockedLog
	srv := startAdmin(t, server.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	for range 3 {
		for _, p := range []string{"/v1/admin/sessions", "/v1/admin/rooms"} {
			resp, body := adminDo(t, srv, "GET", p, adminToken, "")
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		}
	}
	resp, body := adminDo(t, srv, "POST", "/v1/admin/notice", adminToken, `{"text":"hello"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var actions []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `msg="admin action"`) {
			actions = append(actions, line)
		}
	}
	require.Len(t, actions, 1, "%s", logs.String())
	assert.Contains(t, actions[0], "action=notice")
}

// Every request on the admin listener gets its own X-Request-Id, and the
// lines logged about it carry it as request_id: an action, a refusal.
func TestAdminRequestIDs(t *testing.T) {
	var logs lockedLog
	srv := startAdmin(t, server.Config{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	idRE := regexp.MustCompile(`^[0-9a-f]{16}$`)
	linesOf := func(id string) []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["request_id"] == id {
				out = append(out, m)
			}
		}
		return out
	}

	resp, body := adminDo(t, srv, "POST", "/v1/admin/notice", adminToken, `{"text":"hello"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	action := resp.Header.Get("X-Request-Id")
	require.Regexp(t, idRE, action)
	lines := linesOf(action)
	require.Len(t, lines, 1, "%s", logs.String())
	assert.Equal(t, "admin action", lines[0]["msg"])
	assert.Equal(t, "notice", lines[0]["action"])

	resp, _ = adminDo(t, srv, "GET", "/v1/admin/sessions", "", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	refused := resp.Header.Get("X-Request-Id")
	require.Regexp(t, idRE, refused)
	assert.NotEqual(t, action, refused, "one id per request")
	lines = linesOf(refused)
	require.Len(t, lines, 1, "%s", logs.String())
	assert.Equal(t, "admin request refused", lines[0]["msg"])
	assert.Equal(t, "missing_token", lines[0]["reason"])

	resp, _ = adminGet(t, srv, "/metrics", adminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, idRE, resp.Header.Get("X-Request-Id"), "every route, /metrics too")
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain", "the exposition keeps its own type")
}
