package logsum

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeltaReportsOnlyWhatMoved: the first call reports against zero,
// later calls only the counters that grew, by how much, sorted; nothing
// moved gives nil; a counter that went down is re-based silently.
func TestDeltaReportsOnlyWhatMoved(t *testing.T) {
	var s Summary
	c := Counts{}
	c.Add("sessions_opened", 3)
	c.Add("zero", 0)
	c.AddAll("refused", map[string]uint64{"per_ip": 2, "global": 0})
	got := s.Delta(c)
	require.Equal(t, []slog.Attr{slog.Uint64("refused.per_ip", 2), slog.Uint64("sessions_opened", 3)}, got)

	assert.Nil(t, s.Delta(Counts{"sessions_opened": 3, "refused.per_ip": 2}), "nothing moved")

	got = s.Delta(Counts{"sessions_opened": 10, "refused.per_ip": 2, "closes.ok": 1})
	assert.Equal(t, []slog.Attr{slog.Uint64("closes.ok", 1), slog.Uint64("sessions_opened", 7)}, got)

	assert.Nil(t, s.Delta(Counts{"sessions_opened": 4}), "a counter that went down is not reported")
	assert.Equal(t, []slog.Attr{slog.Uint64("sessions_opened", 1)}, s.Delta(Counts{"sessions_opened": 5}))
}
