package netcode

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvConfigure(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	env := Env{Logger: log, HeartbeatInterval: time.Second, IdleTimeout: 10 * time.Second, MaxMessageSize: 16384}

	var hb, idle time.Duration
	var l *slog.Logger
	size := 0
	require.NoError(t, env.Configure(&hb, &idle, &l, &size))
	assert.Equal(t, time.Second, hb)
	assert.Equal(t, 10*time.Second, idle)
	assert.Same(t, log, l)
	assert.Equal(t, 16384, size, "a zero limit takes the engine's")

	own := slog.New(slog.DiscardHandler)
	hb, idle, l, size = 0, 0, own, 1000
	require.NoError(t, env.Configure(&hb, &idle, &l, &size))
	assert.Same(t, own, l, "a logger set is kept")
	assert.Equal(t, 1000, size, "a limit set is kept")
	require.NoError(t, env.Configure(&hb, &idle, &l, nil), "nil: the transport keeps its own limit")

	hb = 2 * time.Second
	require.Error(t, env.Configure(&hb, &idle, &l, nil), "a heartbeat other than the engine's")
}
