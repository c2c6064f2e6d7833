package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/bench"
)

// TestMain lets the test binary act as "tickbench serve" when
// --spawn-server re-executes it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type jsonReport struct {
	Scenario string         `json:"scenario"`
	Config   map[string]any `json:"config"`
	Results  []struct {
		Name     string  `json:"name"`
		Crosses  string  `json:"crosses"`
		Encrypt  string  `json:"encryption"`
		Sent     int64   `json:"sent"`
		Received int64   `json:"received"`
		P50      float64 `json:"p50_us"`
		P90      float64 `json:"p90_us"`
		P99      float64 `json:"p99_us"`
		P999     float64 `json:"p999_us"`
		Max      float64 `json:"max_us"`
	} `json:"results"`
}

func readReport(t *testing.T, path string) jsonReport {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var r jsonReport
	require.NoError(t, json.Unmarshal(b, &r))
	require.NotEmpty(t, r.Results)
	require.NotEmpty(t, r.Config)
	for _, x := range r.Results {
		require.Positive(t, x.Sent, x.Name)
		require.Positive(t, x.Received, x.Name)
		require.LessOrEqual(t, x.Received, x.Sent, x.Name)
		require.Positive(t, x.P50, x.Name)
		require.True(t, x.P50 <= x.P90 && x.P90 <= x.P99 && x.P99 <= x.P999 && x.P999 <= x.Max, "%s: percentiles out of order: %+v", x.Name, x)
	}
	return r
}

func runCmd(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := run(ctx, args, &out, &errb)
	require.NoError(t, err, "stderr: %s", errb.String())
	return out.String()
}

func TestEchoCommand(t *testing.T) {
	dir := t.TempDir()
	js, html := filepath.Join(dir, "echo.json"), filepath.Join(dir, "echo.html")
	out := runCmd(t, "echo", "--count", "50", "--json", js, "--html", html)
	assert.Contains(t, out, "udp-raw")
	assert.Contains(t, out, "p99.9")
	r := readReport(t, js)
	assert.Equal(t, "echo", r.Scenario)
	assert.Len(t, r.Results, len(bench.AllTransports))
	assert.EqualValues(t, 50, r.Config["count"])
	for _, x := range r.Results {
		assert.NotEmpty(t, x.Crosses, x.Name)
	}
	page, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(page), "<svg")
	assert.Contains(t, string(page), "UDP (SCTP over DTLS)", "the report says what each row crosses")
}

func TestEchoCommandBackToBackImpaired(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "echo.json")
	out := runCmd(t, "echo", "--count", "50", "--interval", "0", "--transports", "udp-raw,kcp,tcp",
		"--loss", "5", "--delay", "1ms", "--timeout", "300ms", "--seed", "3", "--kcp-budget", "1048576", "--json", js)
	assert.Contains(t, out, "loss 5% delay 1ms")
	assert.Contains(t, out, "what-if: KCP redundancy budget 1048576")
	assert.Contains(t, out, "packet loss is not injected on tcp")
	r := readReport(t, js)
	assert.Len(t, r.Results, 3)
	assert.Equal(t, true, r.Config["back_to_back"])
}

// TestEchoReportsKCPEncryption: every KCP row says whether its datagrams
// were sealed: by default (the key pinned from GET /v1/kcp) "aead", with
// -kcp-plaintext "plaintext" (in the table too), the kcp-go baseline
// "none"; other rows say nothing.
func TestEchoReportsKCPEncryption(t *testing.T) {
	for _, plain := range []bool{false, true} {
		js := filepath.Join(t.TempDir(), "echo.json")
		args := []string{"echo", "--count", "20", "--transports", "kcp-bare,kcp,kcp-unreliable,tcp", "--json", js}
		want := bench.EncryptionSealed
		if plain {
			args = append(args, "--kcp-plaintext")
			want = bench.EncryptionPlaintext
		}
		out := runCmd(t, args...)
		assert.Contains(t, out, "UDP (KCP), "+want)
		assert.NotContains(t, out, "not pinned", "the key came from the HTTP API")
		r := readReport(t, js)
		got := map[string]string{}
		for _, x := range r.Results {
			got[x.Name] = x.Encrypt
		}
		assert.Equal(t, map[string]string{"kcp-bare": bench.EncryptionNone, "kcp": want, "kcp-unreliable": want, "tcp": ""}, got)
	}
}

func TestRoomCommandSpawned(t *testing.T) {
	js := filepath.Join(t.TempDir(), "room.json")
	out := runCmd(t, "room", "--rooms", "2", "--clients", "2", "--duration", "500ms", "--warmup", "200ms", "--transports", "kcp,webrtc",
		"--spawn-server", "--json", js)
	assert.Contains(t, out, "server: pid")
	assert.Contains(t, out, "(server)", "a spawned server is sampled on its own")
	r := readReport(t, js)
	assert.Equal(t, "room", r.Scenario)
	assert.EqualValues(t, 2, r.Config["rooms"])
}

func TestConnectCommand(t *testing.T) {
	js := filepath.Join(t.TempDir(), "connect.json")
	runCmd(t, "connect", "--sessions", "5", "--concurrency", "2", "--json", js)
	r := readReport(t, js)
	assert.Equal(t, "connect", r.Scenario)
	for _, x := range r.Results {
		assert.EqualValues(t, 5, x.Received)
	}
}

func TestMatrixCommand(t *testing.T) {
	dir := t.TempDir()
	out := runCmd(t, "matrix", "--out", dir, "--count", "30", "--losses", "0,5", "--burst-losses", "10:3", "--transports", "udp-raw,kcp,ws",
		"--rooms", "2", "--clients", "2", "--room-duration", "300ms", "--room-transports", "ws",
		"--sessions", "3", "--spawn-server=false", "--timeout", "500ms")
	assert.Contains(t, out, "matrix done")
	names := map[string][]string{}
	for _, f := range []string{"echo-loss-0", "echo-loss-5", "echo-burst-10-3", "connect", "room"} {
		for _, x := range readReport(t, filepath.Join(dir, f+".json")).Results {
			names[f] = append(names[f], x.Name)
			assert.NotEmpty(t, x.Crosses, "%s %s", f, x.Name)
		}
	}
	assert.Equal(t, []string{"udp-raw", "kcp", "ws"}, names["echo-loss-0"])
	assert.Equal(t, []string{"udp-raw", "kcp"}, names["echo-loss-5"], "ws is not in --loss-transports")
	assert.Equal(t, []string{"udp-raw", "kcp"}, names["echo-burst-10-3"], "burst rows run over the loss transports")
	assert.Contains(t, out, "burst loss 10% x3")
	assert.Equal(t, []string{"kcp", "ws"}, names["connect"])
	assert.Equal(t, []string{"ws"}, names["room"])
	b, err := os.ReadFile(filepath.Join(dir, "matrix.json"))
	require.NoError(t, err)
	var all []jsonReport
	require.NoError(t, json.Unmarshal(b, &all))
	assert.Len(t, all, 5)
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, strings.Count(string(page), "<svg"), 4)
	assert.NotContains(t, string(page), "http://")
}

func TestBadUsage(t *testing.T) {
	var out, errb bytes.Buffer
	ctx := context.Background()
	require.ErrorIs(t, run(ctx, nil, &out, &errb), flag.ErrHelp)
	require.Error(t, run(ctx, []string{"nope"}, &out, &errb))
	require.Error(t, run(ctx, []string{"echo", "--transports", "quic"}, &out, &errb))
	require.Error(t, run(ctx, []string{"echo", "extra"}, &out, &errb))
	require.Error(t, run(ctx, []string{"matrix", "--losses", "200"}, &out, &errb))
	for _, b := range []string{"5", "5:0.5", "0:3", "60:1", "x:3"} {
		require.Error(t, run(ctx, []string{"matrix", "--burst-losses", b}, &out, &errb), b)
	}
	require.Error(t, run(ctx, []string{"echo", "--burst-len", "3"}, &out, &errb), "a burst length needs --loss")
	require.NoError(t, run(ctx, []string{"help"}, &out, &errb))
	assert.Contains(t, out.String(), "matrix")
}

func TestParseBanner(t *testing.T) {
	tg, err := parseBanner("tickbench-serve kcp=127.0.0.1:1 tcp=127.0.0.1:2 http=127.0.0.1:3 webrtc=127.0.0.1:6 udp-echo=127.0.0.1:4 kcp-echo=127.0.0.1:5 pid=9\n")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", tg.KCP)
	assert.Equal(t, "127.0.0.1:6", tg.WebRTC)
	assert.Equal(t, "127.0.0.1:5", tg.KCPEcho)
	_, err = parseBanner("hello")
	require.Error(t, err)
	_, err = parseBanner("tickbench-serve tcp=x")
	require.Error(t, err)
}

func TestChatCommand(t *testing.T) {
	js := filepath.Join(t.TempDir(), "chat.json")
	runCmd(t, "chat", "--count", "10", "--pairs", "1", "--group-size", "2", "--transports", "tcp", "--delay", "1ms", "--json", js)
	r := readReport(t, js)
	assert.Equal(t, "chat", r.Scenario)
	assert.Len(t, r.Results, 2)
	assert.Equal(t, "1ms", r.Config["delay"])
	for _, x := range r.Results {
		assert.GreaterOrEqual(t, x.P50, 2000.0, "%s: two one-way trips through the 1 ms proxy", x.Name)
	}
}

func TestEchoCommandRemoteServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := bench.StartLocal(ctx, bench.LocalConfig{Tickwire: startTickwire, DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, l.Close(ctx))
	})
	tg := l.Target()
	port := func(addr string) string {
		_, p, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		return p
	}
	js := filepath.Join(t.TempDir(), "echo.json")
	runCmd(t, "echo", "--server", "127.0.0.1", "--count", "20",
		"--kcp-port", port(tg.KCP), "--tcp-port", port(tg.TCP), "--http-port", port(tg.HTTP), "--webrtc-port", port(tg.WebRTC),
		"--udp-echo-port", port(tg.UDPEcho), "--kcp-echo-port", port(tg.KCPEcho), "--delay", "1ms", "--json", js)
	r := readReport(t, js)
	assert.Len(t, r.Results, len(bench.AllTransports), "every transport, WebRTC through a proxy in front of --webrtc-port")
}

// A spawned server that never prints its banner must not hang the run:
// the wait gives up at its timeout, or when the context ends.
func TestReadBannerIsBounded(t *testing.T) {
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = pw.Close() })
	start := time.Now()
	_, err = readBanner(context.Background(), pr, 100*time.Millisecond)
	require.ErrorIs(t, err, errNoBanner)
	require.Less(t, time.Since(start), 10*time.Second)

	pr, pw2, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = pw2.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = readBanner(ctx, pr, time.Minute)
	require.ErrorIs(t, err, context.Canceled)

	line, err := readBanner(context.Background(), strings.NewReader("tickbench-serve udp-echo=a kcp-echo=b\nmore"), time.Minute)
	require.NoError(t, err)
	require.Equal(t, "tickbench-serve udp-echo=a kcp-echo=b\n", line)
}
