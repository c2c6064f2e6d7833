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
	rep, err := RunConnect(ctx, &Env{Target: l.Target()}, ConnectConfig{
		// 12 handshakes in flight from one address: above the long-poll
		// and WebRTC per-address caps on sessions being set up (8), which
		// the bench server lifts.
		Transports: AllTransports, Sessions: 12, Concurrency: 12, Duration: 20 * time.Second,
	})
	require.NoError(t, err)
	require.Equal(t, "connect", rep.Scenario)
	// Every session transport once: the baselines have no handshake, the
	// unreliable rows are their reliable twins' sessions.
	want := []string{TransportKCP, TransportTCP, TransportWS, TransportLongPoll, TransportWebRTC}
	require.Len(t, rep.Results, len(want))
	for i, r := range rep.Results {
		require.Equal(t, want[i], r.Name)
		checkShape(t, r)
		require.EqualValues(t, 12, r.Sent)
		require.EqualValues(t, 12, r.Received, r.Note)
		require.Positive(t, r.PerSecond)
		require.Positive(t, r.Extra["token_p50_us"])
	}
}
