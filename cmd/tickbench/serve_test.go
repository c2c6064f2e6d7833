package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// "tickbench serve --admin-port" opens the admin listener on loopback:
// GET /v1/stats answers there with the token (and refuses without it),
// and not on the API port; the banner names the listener.
func TestServeAdminListener(t *testing.T) {
	const token = "bench-admin-token-0123"
	var out, errb bytes.Buffer
	require.ErrorContains(t, run(t.Context(), []string{"serve", "--admin-token", token}, &out, &errb), "--admin-port")
	require.ErrorContains(t, run(t.Context(), []string{"serve", "--admin-port", "0"}, &out, &errb), "--admin-token")

	ctx, cancel := context.WithCancel(t.Context())
	var serveErr bytes.Buffer // written by the server's goroutine only
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--host", "127.0.0.1", "--kcp-port", "0", "--tcp-port", "0", "--http-port", "0",
			"--webrtc-port", "0", "--udp-echo-port", "0", "--kcp-echo-port", "0", "--udp-room-port", "0", "--admin-port", "0", "--admin-token", token}, pw, &serveErr)
		_ = pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	line, err := readBanner(ctx, pr, 30*time.Second)
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }() // nothing more is printed; keeps the pipe open until exit
	tg, err := parseBanner(line)
	require.NoError(t, err)
	require.NotEmpty(t, tg.Admin, "the banner names the admin listener: %q", line)
	require.NotEmpty(t, tg.UDPRoom, "the banner names the udp-raw room relay: %q", line)
	assert.Contains(t, tg.Admin, "127.0.0.1:", "on loopback")

	get := func(url, auth string) (int, map[string]any) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m) // a 404 page is not JSON: m stays nil
		return resp.StatusCode, m
	}
	code, m := get("http://"+tg.Admin+"/v1/stats", token)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, m, "listeners", "the server's counters, per listener")
	code, _ = get("http://"+tg.Admin+"/v1/stats", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, m = get("http://"+tg.HTTP+"/v1/stats", token)
	assert.Equal(t, http.StatusNotFound, code, "not on the API port")
	assert.NotContains(t, m, "listeners")
}

// "tickbench serve --baselines-only" serves the udp-raw room relay at
// --udp-room-tick-hz; "tickbench room --server --transports udp-raw"
// drives it, reports the row in the table, the JSON and the HTML, and
// refuses a run at another tick rate with the flag that fixes it. The
// server prints the relay's counters when it stops.
func TestRoomCommandUDPRawAgainstServe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var serveErr bytes.Buffer // written by the server's goroutine only, read after it ended
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--baselines-only", "--host", "127.0.0.1", "--udp-echo-port", "0", "--kcp-echo-port", "0",
			"--udp-room-port", "0", "--udp-room-tick-hz", "20"}, pw, &serveErr)
		_ = pw.Close()
	}()
	line, err := readBanner(ctx, pr, 30*time.Second)
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }() // keeps the pipe open until exit
	tg, err := parseBanner(line)
	require.NoError(t, err)
	_, port, err := net.SplitHostPort(tg.UDPRoom)
	require.NoError(t, err)

	dir := t.TempDir()
	js, page := filepath.Join(dir, "room.json"), filepath.Join(dir, "room.html")
	out := runCmd(t, "room", "--server", "127.0.0.1", "--udp-room-port", port, "--transports", "udp-raw", "--tick-hz", "20",
		"--rooms", "2", "--clients", "3", "--sessions-per-socket", "4", "--duration", "500ms", "--warmup", "200ms",
		"--server-pid", strconv.Itoa(os.Getpid()), "--json", js, "--html", page)
	assert.Contains(t, out, "udp-raw")
	assert.Contains(t, out, "server_cpu_us_per_input=")
	assert.Contains(t, out, "raw-UDP floor")
	r := readReport(t, js)
	require.Len(t, r.Results, 1)
	assert.Equal(t, "udp-raw", r.Results[0].Name)
	assert.Equal(t, r.Results[0].Sent, r.Results[0].Received, "loopback loses nothing")
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	assert.Contains(t, string(b), "udp-raw")

	var o, e bytes.Buffer
	err = run(ctx, []string{"room", "--server", "127.0.0.1", "--udp-room-port", port, "--transports", "udp-raw", "--tick-hz", "30",
		"--rooms", "1", "--clients", "2", "--duration", "200ms", "--quiet"}, &o, &e)
	require.ErrorContains(t, err, "--udp-room-tick-hz 30")

	cancel()
	require.NoError(t, <-done)
	// 6 players, then the 2 of the run at the wrong rate (they join before
	// the rate is checked); the first run left its slots when it ended
	// (the second's leaves may still be in flight when the server stops).
	assert.Contains(t, serveErr.String(), "udp-room relay: joins 8,")
	assert.Regexp(t, `left [678],`, serveErr.String())
}
