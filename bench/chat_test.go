package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestChatTiny(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := RunChat(ctx, &Env{Target: l.Target()}, ChatConfig{
		Transports: []string{TransportKCP, TransportTCP}, Pairs: 2, GroupSize: 3, Count: 20, Interval: time.Millisecond,
	})
	require.NoError(t, err)
	require.Equal(t, "chat", rep.Scenario)
	require.Len(t, rep.Results, 4)
	want := map[string]int64{"kcp/direct": 20, "kcp/group": 40, "tcp/direct": 20, "tcp/group": 40}
	for _, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, want[r.Name], r.Sent, r.Name)
		require.Equal(t, r.Sent, r.Received, "%s: %s", r.Name, r.Note)
		require.Positive(t, r.Extra["ack_p50_us"])
	}
}

// Chat over the browser transports; webrtc-unreliable chats over webrtc
// (messages are reliable), so it adds no rows.
func TestChatBrowserTransports(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := RunChat(ctx, &Env{Target: l.Target()}, ChatConfig{
		Transports: []string{TransportWS, TransportLongPoll, TransportWebRTC, TransportWebRTCUnreliable},
		Pairs:      1, GroupSize: 2, Count: 10, Interval: time.Millisecond,
	})
	require.NoError(t, err)
	var names []string
	for _, r := range rep.Results {
		checkShape(t, r)
		names = append(names, r.Name)
		require.Equal(t, r.Sent, r.Received, "%s: %s", r.Name, r.Note)
	}
	require.Equal(t, []string{"ws/direct", "ws/group", "longpoll/direct", "longpoll/group", "webrtc/direct", "webrtc/group"}, names)
	require.Equal(t, "TCP (HTTP requests)", rep.Results[2].Crosses)
}

func TestChatConfigValidation(t *testing.T) {
	for name, c := range map[string]ChatConfig{
		"udp":        {Transports: []string{TransportUDPRaw}},
		"group of 1": {GroupSize: 1},
		"tiny body":  {Size: 8},
	} {
		_, err := c.populate()
		require.ErrorIs(t, err, ErrConfig, name)
	}
}

// A production server allows 10 registrations per address and minute;
// chat's 2 x 4 + 8 users go over, and the run says why.
func TestChatAgainstProductionLimits(t *testing.T) {
	l := startLocalWith(t, LocalConfig{ProductionLimits: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := RunChat(ctx, &Env{Target: l.Target()}, ChatConfig{Count: 10})
	require.ErrorIs(t, err, ErrServerLimits)
	require.Contains(t, err.Error(), "tickbench serve")
}

// Chat sessions through the impair proxies: delay applies to both
// transports, loss to kcp only (KCP recovers it), and every message
// still arrives.
func TestChatImpaired(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := RunChat(ctx, &Env{Target: l.Target()}, ChatConfig{
		Transports: []string{TransportKCP, TransportTCP}, Pairs: 1, GroupSize: 2, Count: 10, Interval: time.Millisecond,
		Impairment: Impairment{LossPct: 10, Delay: 2 * time.Millisecond}, Seed: 4,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, 4)
	for _, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, "loss 10% delay 2ms", r.Impairment)
		require.Equal(t, r.Sent, r.Received, "%s: %s", r.Name, r.Note)
		// Sender -> server -> recipient: two one-way trips of 2 ms.
		require.GreaterOrEqual(t, r.P50Us, 4000.0, r.Name)
	}
	require.Contains(t, rep.Results[2].Note, "loss", "the tcp rows say loss was not applied")
	require.NotEmpty(t, rep.Notes)
	require.Equal(t, 10.0, rep.Config.(map[string]any)["loss_pct"])
}
