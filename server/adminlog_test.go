package server_test

import (
	"log/slog"
	"net/http"
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
