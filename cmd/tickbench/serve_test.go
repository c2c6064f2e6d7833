package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
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
			"--webrtc-port", "0", "--udp-echo-port", "0", "--kcp-echo-port", "0", "--admin-port", "0", "--admin-token", token}, pw, &serveErr)
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
