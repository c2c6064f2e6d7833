package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/web"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseDefaults(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":7777", transportAddr(o, "kcp"))
	assert.Equal(t, ":7778", transportAddr(o, "tcp"))
	assert.Equal(t, ":7780", o.srv.HTTPAddr)
	assert.Equal(t, "./data", o.srv.DataDir)
	assert.Nil(t, o.srv.Engine.TokenKey)
	assert.Equal(t, slog.LevelInfo, o.logLevel)
	assert.Equal(t, "text", o.logFormat)
	assert.Equal(t, 10*time.Second, o.shutdownTimeout)
}

func TestParseEnvAndFlags(t *testing.T) {
	key := strings.Repeat("k", 32)
	env := envOf(map[string]string{
		"TICKWIRE_KCP_ADDR":           "127.0.0.1:1",
		"TICKWIRE_TCP_ADDR":           "127.0.0.1:2",
		"TICKWIRE_HTTP_ADDR":          "127.0.0.1:3",
		"TICKWIRE_DATA_DIR":           "/tmp/env",
		"TICKWIRE_TOKEN_KEY":          key,
		"TICKWIRE_LOG_LEVEL":          "debug",
		"TICKWIRE_LOG_FORMAT":         "json",
		"TICKWIRE_MAX_FRAMES_PER_SEC": "50",
		"TICKWIRE_GUEST_TTL":          "1h",
		"TICKWIRE_HEARTBEAT":          "2s",
		"TICKWIRE_IDLE_TIMEOUT":       "20s",
	})
	o, err := parse(nil, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", transportAddr(o, "kcp"))
	assert.Equal(t, "127.0.0.1:2", transportAddr(o, "tcp"))
	assert.Equal(t, "127.0.0.1:3", o.srv.HTTPAddr)
	assert.Equal(t, "/tmp/env", o.srv.DataDir)
	assert.Equal(t, []byte(key), o.srv.Engine.TokenKey)
	assert.Equal(t, slog.LevelDebug, o.logLevel)
	assert.Equal(t, "json", o.logFormat)
	assert.Equal(t, 50, o.srv.Engine.MaxFramesPerSecond)
	assert.Equal(t, time.Hour, o.srv.Engine.GuestTokenTTL)
	assert.Equal(t, 2*time.Second, o.srv.Engine.HeartbeatInterval)
	assert.Equal(t, 20*time.Second, o.srv.Engine.IdleTimeout)

	// Flags win over the environment.
	o, err = parse([]string{"-kcp", "off", "-data", "/tmp/flag", "-log-level", "warn", "-log-format", "text", "-max-frames-per-sec", "7", "-max-frame-size", "2048", "-shutdown-timeout", "3s", "-idle-timeout", "5s"}, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "off", transportAddr(o, "kcp"))
	assert.Equal(t, "127.0.0.1:2", transportAddr(o, "tcp"))
	assert.Equal(t, "/tmp/flag", o.srv.DataDir)
	assert.Equal(t, slog.LevelWarn, o.logLevel)
	assert.Equal(t, "text", o.logFormat)
	assert.Equal(t, 7, o.srv.Engine.MaxFramesPerSecond)
	assert.Equal(t, 2048, o.srv.Engine.MaxFrameSize)
	assert.Equal(t, 3*time.Second, o.shutdownTimeout)
	assert.Equal(t, 5*time.Second, o.srv.Engine.IdleTimeout)
	assert.Equal(t, 2*time.Second, o.srv.Engine.HeartbeatInterval, "env still applies where no flag is given")
}

// Every limit a public server needs has a flag, and the defaults stay on.
func TestParseLimits(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Zero(t, o.srv.Engine.MaxSessionsPerIP, "zero: the engine's default, which is on")
	assert.Equal(t, store.SyncFull, o.srv.Synchronous, "acknowledged writes survive power loss by default")

	o, err = parse([]string{
		"-max-sessions-per-ip", "-1", "-max-sessions", "500", "-log-summary", "-1s", "-max-rooms-per-user", "3", "-max-rooms", "40",
		"-max-client-tick-rate", "60", "-empty-room-ttl", "5s", "-sqlite-synchronous", "normal",
		"-max-concurrent-hashes", "2", "-max-hash-queue", "-1", "-max-pending-invites", "7",
		"-guests-per-ip", "-1", "-max-guest-revocations", "50", "-trusted-proxies", "10.0.0.0/8, 192.168.1.1/32",
		"-login-attempts-per-user", "3", "-login-attempts-per-ip", "9", "-registrations-per-ip", "4", "-rate-limit-grace", "2s", "-resume-window", "5s", "-voice-bitrate", "32000", "-voice-max-members", "12",
	}, envOf(map[string]string{"TICKWIRE_MAX_SESSIONS_PER_IP": "9"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, -1, o.srv.Engine.MaxSessionsPerIP)
	assert.Equal(t, 500, o.srv.Engine.MaxSessions)
	assert.Equal(t, -time.Second, o.srv.Engine.LogSummaryInterval)
	assert.Equal(t, 3, o.srv.Rooms.MaxRoomsCreatedPerUser)
	assert.Equal(t, 40, o.srv.Rooms.MaxRooms)
	assert.Equal(t, 60, o.srv.Rooms.MaxClientTickRate)
	assert.Equal(t, 5*time.Second, o.srv.Rooms.EmptyRoomTTL)
	assert.Equal(t, 32000, o.srv.Rooms.Voice.BitrateBps)
	assert.Equal(t, 12, o.srv.Rooms.Voice.MaxMembers)
	assert.Equal(t, store.SyncNormal, o.srv.Synchronous)
	assert.Equal(t, 2, o.srv.Accounts.MaxConcurrentHashes)
	assert.Equal(t, -1, o.srv.Accounts.MaxHashQueue)
	assert.Equal(t, 7, o.srv.Social.MaxPendingInvites)
	assert.Equal(t, -1, o.srv.Engine.GuestsPerIP)
	assert.Equal(t, 50, o.srv.Accounts.MaxGuestRevocations)
	assert.Equal(t, 3, o.srv.Accounts.LoginAttemptsPerUser)
	assert.Equal(t, 9, o.srv.Accounts.LoginAttemptsPerIP)
	assert.Equal(t, 4, o.srv.Accounts.RegistrationsPerIP)
	assert.Equal(t, 2*time.Second, o.srv.Engine.RateLimitGrace)
	assert.Equal(t, 5*time.Second, o.srv.Engine.ResumeWindow)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}, o.srv.Engine.TrustedProxies)
	assert.Empty(t, o.srv.Engine.AdminToken, "stats are off unless a token is given")

	o, err = parse(nil, envOf(map[string]string{"TICKWIRE_MAX_SESSIONS_PER_IP": "9", "TICKWIRE_ADMIN_TOKEN": "0123456789abcdef0123"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 9, o.srv.Engine.MaxSessionsPerIP)
	assert.Equal(t, "0123456789abcdef0123", o.srv.Engine.AdminToken)

	for _, args := range [][]string{{"-sqlite-synchronous", "off"}, {"-max-sessions-per-ip", "-2"}, {"-max-rooms", "-1"},
		{"-trusted-proxies", "10.0.0.1"}, {"-admin-token", "short"}} {
		_, err := parse(args, envOf(nil), io.Discard)
		assert.Error(t, err, "%v", args)
	}
}

// Long-polling rides the HTTP server: on by default, off on request, and
// refused without an HTTP server to ride.
func TestParseLongPoll(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http", transportAddr(o, "longpoll"))
	o, err = parse([]string{"-longpoll", "off"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, off, transportAddr(o, "longpoll"))
	_, err = parse([]string{"-http", "off", "-ws", "off", "-webrtc", "off"}, envOf(nil), io.Discard)
	assert.ErrorContains(t, err, "-longpoll needs the HTTP server")
	_, err = parse([]string{"-http", "off", "-longpoll", "off", "-webrtc", "off"}, envOf(nil), io.Discard)
	assert.ErrorContains(t, err, "-ws needs the HTTP server")
	_, err = parse([]string{"-http", "off", "-longpoll", "off", "-ws", "off"}, envOf(nil), io.Discard)
	assert.ErrorContains(t, err, "-webrtc needs the HTTP server")
	_, err = parse([]string{"-http", "off", "-longpoll", "off", "-ws", "off", "-webrtc", "off", "-demo", "off"}, envOf(nil), io.Discard)
	require.NoError(t, err, "KCP and TCP alone need no HTTP server")
	_, err = parse([]string{"-longpoll", "maybe"}, envOf(nil), io.Discard)
	assert.Error(t, err)
}

// The demo page and the SDK are served by default, beside the API; off on
// request (flag or environment), and refused without an HTTP server.
func TestParseDemo(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Contains(t, o.srv.Routes, web.PatternIndex)
	assert.Contains(t, o.srv.Routes, web.PatternFiles)
	o, err = parse([]string{"-demo", "off"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Empty(t, o.srv.Routes)
	o, err = parse(nil, envOf(map[string]string{"TICKWIRE_DEMO": "off"}), io.Discard)
	require.NoError(t, err)
	assert.Empty(t, o.srv.Routes)
	o, err = parse([]string{"-demo", "on"}, envOf(map[string]string{"TICKWIRE_DEMO": "off"}), io.Discard)
	require.NoError(t, err)
	assert.NotEmpty(t, o.srv.Routes, "the flag overrides the environment")
	_, err = parse([]string{"-http", "off", "-longpoll", "off", "-ws", "off", "-webrtc", "off"}, envOf(nil), io.Discard)
	assert.ErrorContains(t, err, "-demo needs the HTTP server")
	_, err = parse([]string{"-demo", "maybe"}, envOf(nil), io.Discard)
	assert.Error(t, err)
}

func TestParseWebSocket(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http ", transportAddr(o, "ws"), "on by default, no extra origins")
	o, err = parse([]string{"-ws-origins", "https://game.example, *.example.org"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http https://game.example *.example.org", transportAddr(o, "ws"))
	o, err = parse([]string{"-ws", "off"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, off, transportAddr(o, "ws"))
}

// -origins is the one origin list (CORS on the HTTP API, the WebSocket
// upgrade); -ws-origins, kept for compatibility, adds WebSocket-only ones.
func TestParseOrigins(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Empty(t, o.srv.Engine.AllowedOrigins, "by default the server's own host and localhost only")
	o, err = parse([]string{"-origins", "https://game.example.com, *.example.org"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://game.example.com", "*.example.org"}, o.srv.Engine.AllowedOrigins)
	assert.Equal(t, "http ", transportAddr(o, "ws"), "the WebSocket takes them from the engine")
	o, err = parse(nil, envOf(map[string]string{"TICKWIRE_ORIGINS": "*"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"*"}, o.srv.Engine.AllowedOrigins)
	_, err = parse([]string{"-origins", "https://*.example.*"}, envOf(nil), io.Discard)
	assert.ErrorContains(t, err, "-origins")
	_, err = parse([]string{"-ws-origins", "game.example.com:http"}, envOf(nil), io.Discard)
	assert.ErrorContains(t, err, "-ws-origins")
}

func TestParseWebRTC(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":7779", transportAddr(o, "webrtc"), "on by default, on its own UDP port")
	o, err = parse([]string{"-webrtc", "127.0.0.1:9000", "-webrtc-public-ips", "203.0.113.7"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9000 203.0.113.7", transportAddr(o, "webrtc"))
	o, err = parse([]string{"-webrtc", "off"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, off, transportAddr(o, "webrtc"))
}

func TestParseUnlimitedFrameRate(t *testing.T) {
	o, err := parse([]string{"-max-frames-per-sec", "-1"}, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, -1, o.srv.Engine.MaxFramesPerSecond)
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  map[string]string
	}{
		"short key flag":   {args: []string{"-token-key", "short"}},
		"short key env":    {env: map[string]string{"TICKWIRE_TOKEN_KEY": "short"}},
		"bad level":        {args: []string{"-log-level", "loud"}},
		"bad format":       {args: []string{"-log-format", "xml"}},
		"bad env int":      {env: map[string]string{"TICKWIRE_MAX_FRAME_SIZE": "12abc"}},
		"bad env duration": {env: map[string]string{"TICKWIRE_GUEST_TTL": "forever"}},
		"unknown flag":     {args: []string{"-nope"}},
		"idle below beat":  {args: []string{"-heartbeat", "2s", "-idle-timeout", "2s"}},
		"idle below deflt": {env: map[string]string{"TICKWIRE_IDLE_TIMEOUT": "500ms"}},
		"stray argument":   {args: []string{"serve"}},
		"fps below -1":     {args: []string{"-max-frames-per-sec", "-2"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parse(tc.args, envOf(tc.env), io.Discard)
			assert.Error(t, err)
		})
	}
}

// syncPipe collects run's log lines for the test to read.
type logLines struct{ ch chan map[string]any }

func (l logLines) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			select {
			case l.ch <- m:
			default:
			}
		}
	}
	return len(p), nil
}

func TestRunServesAndStopsOnCancel(t *testing.T) {
	logs := logLines{ch: make(chan map[string]any, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	args := []string{"-kcp", "127.0.0.1:0", "-tcp", "127.0.0.1:0", "-http", "127.0.0.1:0", "-webrtc", "127.0.0.1:0", "-data", t.TempDir(), "-log-format", "json"}
	go func() { done <- run(ctx, args, envOf(nil), logs) }()

	var listening map[string]any
	deadline := time.After(10 * time.Second)
	for listening == nil {
		select {
		case m := <-logs.ch:
			if m["msg"] == "tickwire listening" {
				listening = m
			}
		case err := <-done:
			t.Fatalf("run ended early: %v", err)
		case <-deadline:
			t.Fatal("server did not start")
		}
	}
	httpBase := "http://" + listening["http"].(string)
	resp, err := http.Get(httpBase + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	resp, err = http.Get(httpBase + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "the demo page, on by default")
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	resp, err = http.Get(httpBase + "/web/tickwire.js")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "the SDK")

	tok, err := client.GuestToken(ctx, httpBase, "cli")
	require.NoError(t, err)
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: listening["tcp"].(string)}.Dial, Token: tok})
	require.NoError(t, err)
	defer c.Close()

	cancel() // as SIGINT would: a drain, which ends at once with no room open
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	<-c.Done()
	var ce *netcode.CloseError
	require.ErrorAs(t, c.Err(), &ce)
	assert.Equal(t, netcode.CodeDraining, ce.Code)
}

// transportAddr is the address of o's transport named name, or "off" when
// the binary does not serve it.
func transportAddr(o options, name string) string {
	for _, t := range o.srv.Transports {
		switch t := t.(type) {
		case *kcp.Transport:
			if name == t.Name() {
				return t.Addr
			}
		case *tcp.Transport:
			if name == t.Name() {
				return t.Addr
			}
		case *longpoll.Transport:
			if name == t.Name() {
				return "http"
			}
		case *webrtc.Transport:
			if name == t.Name() {
				return strings.Join(append([]string{t.Addr}, t.Config.PublicIPs...), " ")
			}
		case *ws.Transport:
			if name == t.Name() {
				return "http " + strings.Join(t.Config.AllowedOrigins, " ")
			}
		}
	}
	return off
}

// The admin listener is off by default, on with -admin-addr or
// TICKWIRE_ADMIN_ADDR, and refused without an admin token.
func TestParseAdmin(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Empty(t, o.srv.AdminAddr, "off by default")
	o, err = parse([]string{"-admin-addr", "127.0.0.1:7781"}, envOf(map[string]string{"TICKWIRE_ADMIN_TOKEN": "0123456789abcdef0123"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7781", o.srv.AdminAddr)
	assert.Equal(t, "0123456789abcdef0123", o.srv.Engine.AdminToken)
	o, err = parse(nil, envOf(map[string]string{"TICKWIRE_ADMIN_ADDR": "127.0.0.1:7782", "TICKWIRE_ADMIN_TOKEN": "0123456789abcdef0123"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7782", o.srv.AdminAddr)
	_, err = parse([]string{"-admin-addr", "127.0.0.1:7781"}, envOf(nil), io.Discard)
	assert.ErrorContains(t, err, "-admin-addr needs -admin-token")
}

// The store is SQLite in the data directory unless -store (or
// TICKWIRE_STORE_DSN) names a PostgreSQL database.
func TestParseStore(t *testing.T) {
	o, err := parse(nil, envOf(nil), io.Discard)
	require.NoError(t, err)
	assert.Empty(t, o.srv.StoreDSN, "make run stays on SQLite")
	env := envOf(map[string]string{"TICKWIRE_STORE_DSN": "postgres://tw@db:5432/env"})
	o, err = parse(nil, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "postgres://tw@db:5432/env", o.srv.StoreDSN)
	o, err = parse([]string{"-store", "postgres://tw@db:5432/flag"}, env, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "postgres://tw@db:5432/flag", o.srv.StoreDSN)
}
