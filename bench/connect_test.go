package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConnectStorm(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := RunConnect(ctx, &Env{Target: l.Target()}, ConnectConfig{Sessions: 5, Concurrency: 2, Duration: 10 * time.Second})
	require.NoError(t, err)
	require.Equal(t, "connect", rep.Scenario)
	require.Len(t, rep.Results, 2)
	for _, r := range rep.Results {
		checkShape(t, r)
		require.EqualValues(t, 5, r.Sent)
		require.EqualValues(t, 5, r.Received, r.Note)
		require.Positive(t, r.PerSecond)
		require.Positive(t, r.Extra["token_p50_us"])
	}
}
