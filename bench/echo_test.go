package bench

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/internal/benchserver"
)

// startTickwire is benchserver.Start as LocalConfig.Tickwire takes it.
func startTickwire(ctx context.Context, spec TickwireSpec) (TickwireServer, error) {
	srv, err := benchserver.Start(ctx, benchserver.Config(spec))
	if err != nil {
		return nil, err
	}
	return srv, nil
}

func startBaselines(t *testing.T) *Local {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := StartLocal(ctx, LocalConfig{NoTickwire: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close(context.Background())) })
	return l
}

func checkShape(t *testing.T, r Result) {
	t.Helper()
	require.Positive(t, r.Sent, r.Name)
	require.Positive(t, r.Received, r.Name)
	require.NotEmpty(t, r.Crosses, "%s: every row says what it crosses", r.Name)
	require.LessOrEqual(t, r.Received, r.Sent, r.Name)
	require.Positive(t, r.P50Us, r.Name)
	require.LessOrEqual(t, r.P50Us, r.P90Us, r.Name)
	require.LessOrEqual(t, r.P90Us, r.P99Us, r.Name)
	require.LessOrEqual(t, r.P99Us, r.P999Us, r.Name)
	require.LessOrEqual(t, r.P999Us, r.MaxUs, r.Name)
}

func TestEchoBaselines(t *testing.T) {
	l := startBaselines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, b2b := range []bool{false, true} {
		rep, err := RunEcho(ctx, &Env{Target: l.Target()}, EchoConfig{
			Transports: []string{TransportUDPRaw, TransportKCPBare}, Count: 50, BackToBack: b2b, Duration: 5 * time.Second,
		})
		require.NoError(t, err)
		require.Len(t, rep.Results, 2)
		for _, r := range rep.Results {
			checkShape(t, r)
			require.EqualValues(t, 50, r.Sent)
			require.EqualValues(t, 50, r.Received, "no loss on loopback")
			require.Positive(t, r.WireBytesPerMsg, r.Name)
			require.GreaterOrEqual(t, r.WireBytesPerMsg, float64(2*64), "a round trip carries the payload both ways")
		}
		require.InDelta(t, 1.0, rep.Results[0].P50VsUDP, 1e-9)
	}
}

func startLocal(t *testing.T) *Local {
	t.Helper()
	return startLocalWith(t, LocalConfig{})
}

// startLocalWith starts an in-process server set from cfg, with the
// bench's tickwire server in a test directory and cheap password hashing.
func startLocalWith(t *testing.T, cfg LocalConfig) *Local {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg.Tickwire, cfg.DataDir, cfg.FastPasswords = startTickwire, t.TempDir(), true
	l, err := StartLocal(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, l.Close(ctx))
	})
	return l
}

func TestEchoAllTransports(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := RunEcho(ctx, &Env{Target: l.Target()}, EchoConfig{Count: 50, Duration: 5 * time.Second})
	require.NoError(t, err)
	require.Len(t, rep.Results, len(AllTransports))
	for i, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, AllTransports[i], r.Name)
		require.Equal(t, crossesOf(r.Name), r.Crosses)
		require.EqualValues(t, 50, r.Received, "%s: no loss on loopback", r.Name)
		require.Positive(t, r.WireBytesPerMsg, r.Name)
		require.Positive(t, r.P50VsUDP, r.Name)
	}
	var buf bytes.Buffer
	require.NoError(t, rep.WriteTable(&buf))
	t.Log("\n" + buf.String())
}

func TestEchoImpaired(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	classic := []string{TransportUDPRaw, TransportKCPBare, TransportKCP, TransportKCPUnreliable, TransportTCP}
	rep, err := RunEcho(ctx, &Env{Target: l.Target()}, EchoConfig{
		Transports: classic, Count: 200, Duration: 10 * time.Second, Timeout: time.Second,
		Impairment: Impairment{LossPct: 20, Delay: time.Millisecond}, Seed: 7,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, len(classic))
	byName := map[string]Result{}
	for _, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, "loss 20% delay 1ms", r.Impairment)
		require.Positive(t, r.WireBytesPerMsg, r.Name)
		require.GreaterOrEqual(t, r.P50Us, 2000.0, "%s: the proxy adds 1 ms each way", r.Name)
		byName[r.Name] = r
	}
	// 20% loss each way: a plain UDP round trip survives with p = 0.64.
	require.Less(t, byName[TransportUDPRaw].DeliveredPct, 85.0)
	require.Less(t, byName[TransportKCPUnreliable].DeliveredPct, 85.0)
	// Reliable transports deliver everything.
	for _, n := range []string{TransportKCP, TransportKCPBare, TransportTCP} {
		require.EqualValues(t, byName[n].Sent, byName[n].Received, n)
	}
	require.Contains(t, byName[TransportTCP].Note, "loss")
	require.NotEmpty(t, rep.Notes)
}

// TestEchoBurstLoss: --burst-len makes the proxies lose in bursts; the
// row says so, udp-raw loses about the mean, reliable rows deliver all.
func TestEchoBurstLoss(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	imp := Impairment{LossPct: 20, BurstLen: 3}
	rep, err := RunEcho(ctx, &Env{Target: l.Target()}, EchoConfig{
		Transports: []string{TransportUDPRaw, TransportKCP}, Count: 300, Duration: 10 * time.Second, Timeout: time.Second,
		Impairment: imp, Seed: 7,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, 2)
	for _, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, "burst loss 20% x3", r.Impairment)
		require.Equal(t, 20.0, r.LossPct)
		require.Positive(t, r.WireBytesPerMsg, r.Name)
	}
	// A round trip survives both ways with p = 0.64 in the long run.
	require.Less(t, rep.Results[0].DeliveredPct, 85.0)
	require.EqualValues(t, rep.Results[1].Sent, rep.Results[1].Received)
	require.Equal(t, 3.0, rep.Config.(map[string]any)["burst_len"])

	c := impairConfig(imp, 1)
	require.Zero(t, c.Up.Loss)
	require.InDelta(t, 0.2, c.Down.Burst.MeanLoss(), 1e-12)
	require.InDelta(t, 3, c.Up.Burst.MeanBadRun(), 1e-12)

	for name, bad := range map[string]Impairment{
		"burst without loss": {BurstLen: 3},
		"burst below 1":      {LossPct: 5, BurstLen: 0.5},
		"unreachable mean":   {LossPct: 60, BurstLen: 1},
	} {
		require.ErrorIs(t, bad.Validate(), ErrConfig, name)
	}
}

// The browser transports behind the impair proxies: ws and long-poll
// through the TCP proxy, WebRTC's data channels through the UDP proxy in
// front of its port (the answer is rewritten; a session that bypassed the
// proxy would fail the dial). The delay shows in every row's p50.
func TestEchoBrowserTransportsImpaired(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts := []string{TransportWS, TransportLongPoll, TransportWebRTC, TransportWebRTCUnreliable}
	rep, err := RunEcho(ctx, &Env{Target: l.Target()}, EchoConfig{
		Transports: ts, Count: 50, Duration: 10 * time.Second, Impairment: Impairment{Delay: time.Millisecond}, Seed: 7,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, len(ts))
	for _, r := range rep.Results {
		checkShape(t, r)
		require.Equal(t, "delay 1ms", r.Impairment)
		require.GreaterOrEqual(t, r.P50Us, 2000.0, "%s: the proxy adds 1 ms each way", r.Name)
		require.Equal(t, "impair proxy", r.WireSource, r.Name)
		require.Positive(t, r.WireBytesPerMsg, r.Name)
	}
}

func TestEchoInterleavedRounds(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := RunEcho(ctx, &Env{Target: l.Target()}, EchoConfig{Count: 50, Rounds: 4, Duration: 10 * time.Second})
	require.NoError(t, err)
	require.Len(t, rep.Results, len(AllTransports))
	for _, r := range rep.Results {
		checkShape(t, r)
		require.EqualValues(t, 50, r.Sent, r.Name)
		require.EqualValues(t, 50, r.Received, r.Name)
		require.Positive(t, r.WireBytesPerMsg, r.Name)
	}
	require.EqualValues(t, 4, rep.Config.(map[string]any)["rounds"])
	_, err = EchoConfig{Count: 3, Rounds: 4}.populate()
	require.ErrorIs(t, err, ErrConfig)
}

// A production server (200 frames/s per session) refuses a paced echo at
// 1,000/s; the run says why instead of a bare "closed by peer".
func TestEchoAgainstProductionLimits(t *testing.T) {
	l := startLocalWith(t, LocalConfig{ProductionLimits: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := RunEcho(ctx, &Env{Target: l.Target()}, EchoConfig{
		Transports: []string{TransportKCP}, Count: 2000, Duration: 10 * time.Second,
	})
	require.ErrorIs(t, err, ErrServerLimits)
	require.Contains(t, err.Error(), "--max-frames-per-sec")
}

func TestStartLocalNeedsTickwire(t *testing.T) {
	_, err := StartLocal(context.Background(), LocalConfig{})
	require.ErrorIs(t, err, ErrConfig)
}

// kcp-bare against an address where nothing listens: the run ends by
// itself (kcp-go's window fills and the write deadline fires) and says
// that nothing ever answered.
func TestEchoNoServerSaysSo(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // a port that reads and never answers
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = RunEcho(ctx, &Env{Target: Target{KCPEcho: pc.LocalAddr().String()}}, EchoConfig{
		Transports: []string{TransportKCPBare}, Count: 2000, Interval: 100 * time.Microsecond, Duration: 20 * time.Second,
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "no reply has arrived")
}
