package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// cheapArgon2 keeps registration fast in tests.
var cheapArgon2 = accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// wait bounds every command a test runs; --for values stay below it.
const wait = 20 * time.Second

// harness runs tickctl against one real server with one temp config dir.
type harness struct {
	t   *testing.T
	srv *server.Server
	dir string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	// Keep the developer's settings out of the tests (empty means unset).
	for _, v := range []string{"TICKCTL_HTTP", "TICKCTL_ADDR", "TICKCTL_TRANSPORT", "TICKCTL_PROFILE",
		"TICKCTL_TOKEN", "TICKCTL_CONFIG_DIR", "TICKCTL_PASSWORD"} {
		t.Setenv(v, "")
	}
	srv := servertest.Start(t, server.Config{Accounts: accounts.Config{Argon2: cheapArgon2}})
	return &harness{t: t, srv: srv, dir: t.TempDir()}
}

// result is one finished tickctl run.
type result struct {
	code           int
	stdout, stderr string
}

// syncBuffer is a bytes.Buffer that a test may read while run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// args puts the server and config flags before the command line.
func (h *harness) args(args ...string) []string {
	return append([]string{
		"--http", h.srv.HTTPURL(), "--addr", h.srv.Addr("kcp"), "--config-dir", h.dir, "--timeout", "10s",
	}, args...)
}

// run runs tickctl to the end with stdin.
func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var out, errOut syncBuffer
	code := run(ctx, h.args(args...), strings.NewReader(stdin), &out, &errOut)
	r := result{code: code, stdout: out.String(), stderr: errOut.String()}
	h.t.Logf("tickctl %s -> %d\n%s%s", strings.Join(args, " "), code, r.stdout, r.stderr)
	return r
}

// ok runs tickctl and requires success.
func (h *harness) ok(stdin string, args ...string) string {
	h.t.Helper()
	r := h.run(stdin, args...)
	require.Equal(h.t, exitOK, r.code, "tickctl %v: %s", args, r.stderr)
	return r.stdout
}

// bg is a tickctl run on its own goroutine.
type bg struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc // what Ctrl-C does
	done           chan int
}

// background starts tickctl on its own goroutine.
func (h *harness) background(args ...string) *bg {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	b := &bg{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { b.done <- run(ctx, h.args(args...), strings.NewReader(""), b.stdout, b.stderr) }()
	h.t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// finish waits (bounded) for a background run to end and returns its
// result.
func (h *harness) finish(b *bg) result {
	h.t.Helper()
	select {
	case code := <-b.done:
		b.done <- code // for the cleanup
		h.t.Logf("background tickctl -> %d\n%s%s", code, b.stdout.String(), b.stderr.String())
		return result{code: code, stdout: b.stdout.String(), stderr: b.stderr.String()}
	case <-time.After(wait + 5*time.Second):
		h.t.Fatalf("background tickctl did not end")
		return result{}
	}
}

// jsonLines decodes every line of out, keeping those of type typ.
func jsonLines(t *testing.T, out, typ string) []map[string]any {
	t.Helper()
	var res []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "line %q", line)
		if m["type"] == typ {
			res = append(res, m)
		}
	}
	return res
}

const pw = "correct horse battery"

func TestFriendsAndMessages(t *testing.T) {
	h := newHarness(t)

	out := h.ok("", "--profile", "alice", "register", "alice", "--password", pw)
	assert.Contains(t, out, "registered alice")
	// bob's password comes from stdin, as when piped.
	out = h.ok(pw+"\n", "--profile", "bob", "register", "bob")
	assert.Contains(t, out, "registered bob")

	// The login is saved privately.
	st, err := os.Stat(filepath.Join(h.dir, "alice.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	// Global flags are accepted after the command too.
	assert.Contains(t, h.ok("", "whoami", "--profile", "bob"), "bob (bob)")

	// bob watches in one terminal while the rest happens in others.
	watch := h.background("--profile", "bob", "watch", "--for", "15s", "--count", "1")
	require.Eventually(t, func() bool { return strings.Contains(watch.stderr.String(), "watching as bob") },
		wait, 10*time.Millisecond, "watch did not start")

	assert.Contains(t, h.ok("", "--profile", "alice", "friend", "add", "bob"), "friend request sent to bob")
	out = h.ok("", "--profile", "bob", "friends")
	assert.Contains(t, out, "alice")
	assert.Contains(t, out, "incoming")
	assert.Contains(t, h.ok("", "--profile", "bob", "friend", "accept", "alice"), "you and alice are now friends")
	friends := jsonLines(t, h.ok("", "--profile", "alice", "--json", "friends"), "friend")
	require.Len(t, friends, 1)
	assert.Equal(t, "bob", friends[0]["username"])
	assert.Equal(t, "friend", friends[0]["state"])
	assert.Equal(t, "online", friends[0]["presence"], "bob's watch keeps him online")

	// alice's message shows up live, after the friend events.
	assert.Contains(t, h.ok("", "--profile", "alice", "send", "bob", "hello", "bob"), "sent #")
	r := h.finish(watch)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "alice sent you a friend request: tickctl friend accept alice\n")
	assert.Contains(t, r.stdout, "you and alice are now friends\n")
	assert.Regexp(t, `(?m)^#1 [-0-9]+ [:0-9]+ alice: hello bob$`, r.stdout)
	assert.Less(t, strings.Index(r.stdout, "now friends"), strings.Index(r.stdout, "hello bob"))

	// history shows it, both ways.
	assert.Contains(t, h.ok("", "--profile", "bob", "history", "alice"), "alice: hello bob")
	hist := jsonLines(t, h.ok("", "--profile", "alice", "--json", "history", "bob", "--limit", "10"), "message")
	require.Len(t, hist, 1)
	assert.Equal(t, "hello bob", hist[0]["body"])

	// A message sent while bob is away is delivered when he watches
	// again; the one he saw (and acknowledged) is not shown again.
	h.ok("", "--profile", "alice", "send", "bob", "--", "-while you were away")
	r = h.run("", "--profile", "bob", "--json", "watch", "--for", "15s", "--count", "1")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Len(t, jsonLines(t, r.stdout, "watching"), 1)
	msgs := jsonLines(t, r.stdout, "message")
	require.Len(t, msgs, 1)
	assert.Equal(t, "-while you were away", msgs[0]["body"])

	// alice's own watch (her other device) shows what she sends elsewhere,
	// and to whom.
	aw := h.background("--profile", "alice", "watch", "--for", "15s", "--count", "1")
	require.Eventually(t, func() bool { return strings.Contains(aw.stderr.String(), "watching as alice") },
		wait, 10*time.Millisecond, "alice's watch did not start")
	h.ok("", "--profile", "alice", "send", "bob", "from", "my", "laptop")
	r = h.finish(aw)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `(?m)^#\d+ [-0-9]+ [:0-9]+ alice → bob: from my laptop$`, r.stdout)

	// Groups: create, invite, join, send, read.
	assert.Contains(t, h.ok("", "--profile", "alice", "group", "create", "club", "--invite-only"), `created group`)
	h.ok("", "--profile", "alice", "group", "invite", "club", "bob")
	groups := jsonLines(t, h.ok("", "--profile", "bob", "--json", "groups"), "group")
	require.Len(t, groups, 1)
	assert.Equal(t, "invited", groups[0]["role"])
	h.ok("", "--profile", "bob", "group", "join", "club")
	h.ok("", "--profile", "bob", "send-group", "club", "hi", "club")
	assert.Contains(t, h.ok("", "--profile", "alice", "history", "--group", "club"), "bob: hi club")
	members := jsonLines(t, h.ok("", "--profile", "alice", "--json", "group", "members", "club"), "member")
	assert.Len(t, members, 2)

	// Refusals carry the server's code.
	r = h.run("", "--profile", "alice", "send", "carol", "hi")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "not_friends (252)")
	r = h.run("", "--profile", "alice", "friend", "add", "nobody")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "user_not_found (250)")

	// logout revokes the token and forgets it.
	h.ok("", "--profile", "bob", "logout")
	_, err = os.Stat(filepath.Join(h.dir, "bob.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	r = h.run("", "--profile", "bob", "friends")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "not logged in")
}

func TestPresenceDeclineBlock(t *testing.T) {
	h := newHarness(t)
	for _, u := range []string{"xena", "yuri", "zoe"} {
		h.ok("", "--profile", u, "register", u, "--password", pw)
	}
	h.ok("", "--profile", "xena", "friend", "add", "yuri")
	h.ok("", "--profile", "yuri", "friend", "accept", "xena")

	// yuri stays online with a watch and sets a status; xena sees it.
	watch := h.background("--profile", "yuri", "watch")
	require.Eventually(t, func() bool { return strings.Contains(watch.stderr.String(), "watching as yuri") },
		wait, 10*time.Millisecond, "watch did not start")
	h.ok("", "--profile", "yuri", "status", "away", "back", "soon")
	require.Eventually(t, func() bool {
		fs := jsonLines(t, h.ok("", "--profile", "xena", "--json", "friends"), "friend")
		return len(fs) == 1 && fs[0]["presence"] == "away" && fs[0]["status_text"] == "back soon"
	}, wait, 20*time.Millisecond)
	watch.cancel() // Ctrl-C
	r := h.finish(watch)
	assert.Equal(t, exitOK, r.code, "Ctrl-C ends a watch normally")

	// zoe declines xena's request; xena then blocks zoe.
	h.ok("", "--profile", "xena", "friend", "add", "zoe")
	assert.Contains(t, h.ok("", "--profile", "zoe", "friend", "decline", "xena"), "declined")
	r = h.run("", "--profile", "zoe", "friend", "accept", "xena")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "request_not_found (254)")
	for _, f := range jsonLines(t, h.ok("", "--profile", "xena", "--json", "friends"), "friend") {
		assert.NotEqual(t, "zoe", f["username"])
	}
	zoeID := jsonLines(t, h.ok("", "--profile", "zoe", "--json", "whoami"), "me")[0]["user_id"].(string)
	assert.Contains(t, h.ok("", "--profile", "xena", "block", zoeID), "blocked")
	var states []string
	for _, f := range jsonLines(t, h.ok("", "--profile", "xena", "--json", "friends"), "friend") {
		if f["user_id"] == zoeID {
			states = append(states, f["state"].(string))
		}
	}
	assert.Equal(t, []string{"blocked"}, states)
	r = h.run("", "--profile", "zoe", "friend", "add", "xena")
	assert.Equal(t, exitError, r.code, r.stdout)
	assert.Contains(t, r.stderr, "blocked (253)")
}

func TestBadPassword(t *testing.T) {
	h := newHarness(t)
	h.ok("", "--profile", "carol", "register", "carol", "--password", pw)

	r := h.run("", "--profile", "carol", "login", "carol", "--password", "not the password")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "invalid_credentials (203)")
	assert.Empty(t, r.stdout)

	r = h.run("not the password\n", "--profile", "carol", "--json", "login", "carol")
	assert.Equal(t, exitError, r.code)
	var e errorJSON
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(r.stderr)), &e), r.stderr)
	assert.Equal(t, errorJSON{Error: "invalid_credentials", Code: 203, Message: e.Message}, e)

	// The failed logins left the saved one alone.
	assert.Contains(t, h.ok("", "--profile", "carol", "whoami"), "carol")
	// And the right password logs in.
	assert.Contains(t, h.ok(pw+"\n", "--profile", "carol", "login", "carol"), "logged in as carol")
}

func TestRoomRelay(t *testing.T) {
	h := newHarness(t)
	assert.Contains(t, h.ok("", "--profile", "g", "guest", "player1"), "guest player1")

	out := h.ok("hello from stdin\n", "--profile", "g", "room", "join", "relay", "--for", "15s", "--count", "1")
	assert.Contains(t, out, "joined room")
	assert.Regexp(t, `(?m)^tick \d+ player1 #1: hello from stdin$`, out)

	// Over TCP, on the unreliable channel, with JSON output.
	out = h.ok("a\nb\n", "--profile", "g", "--json", "--transport", "tcp", "--addr", h.srv.Addr("tcp"),
		"room", "join", "relay", "lobby", "--unreliable", "--for", "15s", "--count", "2")
	joined := jsonLines(t, out, "joined")
	require.Len(t, joined, 1)
	assert.Equal(t, "lobby", joined[0]["label"])
	var got []string
	for _, tick := range jsonLines(t, out, "tick") {
		assert.Equal(t, "unreliable", tick["channel"])
		for _, in := range tick["inputs"].([]any) {
			got = append(got, in.(map[string]any)["data"].(string))
		}
	}
	assert.Equal(t, []string{"a", "b"}, got)

	rooms := jsonLines(t, h.ok("", "--profile", "g", "--json", "rooms", "relay", "--label", "lobby"), "room")
	require.Len(t, rooms, 1)
	assert.Equal(t, joined[0]["room_id"], rooms[0]["room_id"])

	// Two players in one room: each sees the other join and the other's
	// inputs.
	h.ok("", "--profile", "g2", "guest", "player2")
	first := h.background("--profile", "g", "room", "join", "relay", "duo", "--for", "15s", "--count", "1")
	require.Eventually(t, func() bool { return strings.Contains(first.stdout.String(), "joined room") },
		wait, 10*time.Millisecond, "first player did not join")
	out = h.ok("over to you\n", "--profile", "g2", "room", "join", "relay", "duo", "--for", "15s", "--count", "1")
	assert.Contains(t, out, "2/16 members: 1 player1, 2 player2) as member 2")
	r := h.finish(first)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "member 2 player2 joined\n")
	assert.Regexp(t, `(?m)^tick \d+ player2 #1: over to you$`, r.stdout)

	// An input longer than the protocol allows stops the reading, said.
	r = h.run(strings.Repeat("x", 5000)+"\n", "--profile", "g", "room", "join", "relay", "--for", "300ms")
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "stopped reading stdin")

	r = h.run("", "--profile", "g", "room", "join-id", "12345", "--for", "5s")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "room_not_found (100)")
}

func TestPing(t *testing.T) {
	h := newHarness(t)
	h.ok("", "guest")
	out := h.ok("", "--json", "ping", "--count", "3")
	assert.Len(t, jsonLines(t, out, "ping"), 3)
	sum := jsonLines(t, out, "ping_summary")
	require.Len(t, sum, 1)
	assert.Greater(t, sum[0]["rtt_avg_ms"], 0.0)
}

// TestPingPinsKCPKey: over KCP tickctl pins the server's key, fetched
// from GET /v1/kcp by default or given with --kcp-key; the wrong key
// cannot complete the handshake.
func TestPingPinsKCPKey(t *testing.T) {
	h := newHarness(t)
	h.ok("", "guest")
	info, err := kcp.FetchInfo(context.Background(), nil, h.srv.HTTPURL())
	require.NoError(t, err)
	h.ok("", "--kcp-key", info.PublicKey, "ping", "--count", "1")
	other, err := kcp.GenerateKey()
	require.NoError(t, err)
	r := h.run("", "--kcp-key", kcp.EncodePublicKey(other.PublicKey()), "--timeout", "2s", "ping", "--count", "1")
	assert.NotEqual(t, exitOK, r.code, "a server without the pinned key's private half is not trusted")
	r = h.run("", "--kcp-key", "garbage", "ping", "--count", "1")
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "kcp-key")
}

// tickctl speaks every transport the server offers: over WebSocket,
// long-polling and WebRTC it reaches the server through --http alone.
func TestPingOverBrowserTransports(t *testing.T) {
	h := newHarness(t)
	h.srv = servertest.Start(t, server.Config{
		Accounts: accounts.Config{Argon2: cheapArgon2},
		Transports: append(servertest.Transports(),
			&ws.Transport{}, &longpoll.Transport{}, &webrtc.Transport{Addr: servertest.Loopback}),
	})
	h.ok("", "guest")
	for _, tr := range []string{"ws", "longpoll", "webrtc"} {
		out := h.ok("", "--transport", tr, "--json", "ping", "--count", "2")
		sum := jsonLines(t, out, "ping_summary")
		require.Len(t, sum, 1, tr)
		assert.Equal(t, tr, sum[0]["transport"])
		assert.Greater(t, sum[0]["rtt_avg_ms"], 0.0, tr)
	}
}

func TestUsage(t *testing.T) {
	h := newHarness(t)
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"no command":      {nil, exitUsage, "usage: tickctl"},
		"unknown command": {[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		"no sub-command":  {[]string{"friend"}, exitUsage, "needs a sub-command: add, accept, decline, remove"},
		"bad sub-command": {[]string{"room", "dance"}, exitUsage, "needs a sub-command: join, create, join-id"},
		"missing text":    {[]string{"send", "bob"}, exitUsage, "missing arguments"},
		"extra argument":  {[]string{"whoami", "x"}, exitUsage, `unexpected argument "x"`},
		"bad flag":        {[]string{"watch", "--nope"}, exitUsage, "flag provided but not defined"},
		"bad transport":   {[]string{"--transport", "carrier-pigeon", "ping"}, exitUsage, "kcp, longpoll, tcp, webrtc, ws"},
		"bad profile":     {[]string{"--profile", "../x", "whoami"}, exitUsage, "bad profile name"},
		"not logged in":   {[]string{"friends"}, exitError, "not logged in"},
		"no password":     {[]string{"login", "dave"}, exitUsage, "no password"},
		"history both":    {[]string{"history", "bob", "--group", "1"}, exitUsage, "either USER or --group"},
	} {
		t.Run(name, func(t *testing.T) {
			r := h.run("", tc.args...)
			assert.Equal(t, tc.code, r.code)
			assert.Contains(t, r.stderr, tc.msg)
		})
	}
	assert.Contains(t, h.ok("", "help"), "room join")
}

func TestParseInterleaved(t *testing.T) {
	a := &app{stderr: &bytes.Buffer{}}
	fs := a.flags("x")
	n := fs.Int("limit", 0, "")
	pos, err := a.parse(fs, []string{"bob", "--limit", "3", "hi", "--", "--limit", "x"}, 1, -1)
	require.NoError(t, err)
	assert.Equal(t, 3, *n)
	assert.Equal(t, []string{"bob", "hi", "--limit", "x"}, pos)
}

func TestReadLine(t *testing.T) {
	r := strings.NewReader("secret\r\nrest\n")
	line, err := readLine(r)
	require.NoError(t, err)
	assert.Equal(t, "secret", line)
	line, err = readLine(r) // nothing past the first line was consumed
	require.NoError(t, err)
	assert.Equal(t, "rest", line)
	_, err = readLine(strings.NewReader(strings.Repeat("x", maxPasswordLine+10)))
	assert.Error(t, err)
}

func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, saveProfile(dir, "p", profile{HTTP: "http://saved:1", Addr: "saved:2", Transport: "kcp", Token: "tok"}))
	env := map[string]string{}
	a := &app{getenv: func(k string) string { return env[k] }, g: globals{configDir: dir, profile: "p"}}

	s, err := a.settings()
	require.NoError(t, err)
	assert.Equal(t, settings{http: "http://saved:1", addr: "saved:2", transport: "kcp", token: "tok", profileName: "p", dir: dir,
		profile: profile{HTTP: "http://saved:1", Addr: "saved:2", Transport: "kcp", Token: "tok"}, hasProfile: true}, s)

	env["TICKCTL_HTTP"], env["TICKCTL_ADDR"], env["TICKCTL_TOKEN"] = "http://env:3", "env:4", "envtok"
	s, err = a.settings()
	require.NoError(t, err)
	assert.Equal(t, []string{"http://env:3", "env:4", "envtok"}, []string{s.http, s.addr, s.token})

	a.g.http, a.g.addr, a.g.token = "http://flag:5/", "flag:6", "flagtok"
	s, err = a.settings()
	require.NoError(t, err)
	assert.Equal(t, []string{"http://flag:5", "flag:6", "flagtok"}, []string{s.http, s.addr, s.token})

	// The saved address belongs to the saved transport.
	a.g = globals{configDir: dir, profile: "p", transport: "tcp"}
	env = map[string]string{}
	s, err = a.settings()
	require.NoError(t, err)
	assert.Equal(t, defaultTCPAddr, s.addr)

	// No profile: defaults, and no token.
	env["TICKCTL_PROFILE"] = "other"
	a.g = globals{configDir: dir}
	s, err = a.settings()
	require.NoError(t, err)
	assert.Equal(t, []string{defaultHTTP, defaultKCPAddr, "kcp", "", "other"}, []string{s.http, s.addr, s.transport, s.token, s.profileName})
	assert.False(t, s.hasProfile)

	// A damaged profile is an error, not an empty login.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{not json"), 0o600))
	a.g.profile = "bad"
	_, err = a.settings()
	assert.ErrorContains(t, err, "reading profile")
}

func TestConfigDir(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	get := func(k string) string { return env[k] }
	d, err := configDir("", get)
	require.NoError(t, err)
	assert.Equal(t, "/home/u/.config/tickctl", d)
	env["XDG_CONFIG_HOME"] = "/xdg"
	d, _ = configDir("", get)
	assert.Equal(t, "/xdg/tickctl", d)
	env["TICKCTL_CONFIG_DIR"] = "/env"
	d, _ = configDir("", get)
	assert.Equal(t, "/env", d)
	d, _ = configDir("/flag", get)
	assert.Equal(t, "/flag", d)
}

// One user answers, the other calls: both see the call answered and the
// other's signaling text; Ctrl-C on the caller hangs up, and the callee's
// answer ends with hung_up.
func TestCallRingAndAnswer(t *testing.T) {
	h := newHarness(t)
	for _, u := range []string{"xena", "yuri"} {
		h.ok("", "--profile", u, "register", u, "--password", pw)
	}
	h.ok("", "--profile", "xena", "friend", "add", "yuri")
	h.ok("", "--profile", "yuri", "friend", "accept", "xena")

	answer := h.background("--profile", "yuri", "--json", "answer", "--signal", "hello from yuri")
	require.Eventually(t, func() bool {
		fs := jsonLines(t, h.ok("", "--profile", "xena", "--json", "friends"), "friend")
		return len(fs) == 1 && fs[0]["presence"] == "online"
	}, wait, 20*time.Millisecond, "yuri's answer session is up")
	caller := h.background("--profile", "xena", "--json", "call", "yuri", "--signal", "hello from xena")
	signalled := func(b *bg, text string) bool {
		for _, s := range jsonLines(t, b.stdout.String(), "signal") {
			if s["text"] == text {
				return true
			}
		}
		return false
	}
	require.Eventually(t, func() bool { return signalled(caller, "hello from yuri") && signalled(answer, "hello from xena") },
		wait, 10*time.Millisecond, "both sides hear the other")
	caller.cancel() // Ctrl-C hangs up
	r := h.finish(caller)
	assert.Equal(t, exitOK, r.code, r.stderr)
	r = h.finish(answer)
	assert.Equal(t, exitOK, r.code, r.stderr)
	calls := jsonLines(t, r.stdout, "call")
	require.Len(t, calls, 3, "ringing, active, ended")
	assert.Equal(t, []any{"ringing", "active", "ended"}, []any{calls[0]["state"], calls[1]["state"], calls[2]["state"]})
	assert.Equal(t, "hung_up", calls[2]["reason"])
	assert.Equal(t, calls[0]["caller_id"], calls[2]["by_user_id"], "the caller hung up")
}
