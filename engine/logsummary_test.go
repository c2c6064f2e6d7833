package engine

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logLines parses a JSON log.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// A flood of 200 connections refused by the session cap over real
// loopback TCP writes no line per refusal at Info: the only Info lines
// are the engine's start and the periodic activity lines, whose counts
// add up to the 200 refusals and the one handshake.
func TestRefusalFloodLogsOnlyTheActivityLine(t *testing.T) {
	var logs syncBuffer
	s := startNet(t, Config{
		MaxSessions: 1, MaxSessionsPerIP: -1,
		Logger:             slog.New(slog.NewJSONHandler(&logs, nil)), // Info
		LogSummaryInterval: 20 * time.Millisecond,
	})
	a := s.session("tcp", "a")
	const flood = 200
	for range flood {
		s.expectRefused("tcp")
	}
	ping(t, a)
	sums := func() map[string]float64 {
		total := map[string]float64{}
		for _, m := range logLines(t, logs.String()) {
			if m["msg"] != "activity" {
				continue
			}
			for k, v := range m {
				if f, ok := v.(float64); ok {
					total[k] += f
				}
			}
		}
		return total
	}
	require.Eventually(t, func() bool { return sums()["refused.global"] == flood }, wait, 5*time.Millisecond)
	got := sums()
	assert.EqualValues(t, 1, got["handshakes"])
	assert.EqualValues(t, flood, got["refused.global"])
	for _, m := range logLines(t, logs.String()) {
		assert.Contains(t, []any{"engine running", "activity"}, m["msg"], "a per-event line above debug: %v", m)
		if m["msg"] == "activity" {
			assert.EqualValues(t, 20*time.Millisecond, m["interval"])
		}
	}
}
