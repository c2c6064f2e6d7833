package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const opsWait = 10 * time.Second

// adminDo sends method path to the admin listener with token ("" for
// none) and body.
func adminDo(t *testing.T, srv *server.Server, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	return servertest.Request(t, method, "http://"+srv.AdminAddr()+path, hdr, body)
}

// opsClient dials a guest over tr ("kcp" or "tcp") and waits one round
// trip, so that the services know the session.
func opsClient(t *testing.T, srv *server.Server, tr, name string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opsWait)
	defer cancel()
	tok, err := client.GuestToken(ctx, srv.HTTPURL(), name)
	require.NoError(t, err)
	o := client.Options{Token: tok, QueueSize: 1024}
	if tr == "tcp" {
		o.Dial = tcp.Dialer{Addr: srv.Addr("tcp")}.Dial
	} else {
		o.Dial = kcp.Dialer{Addr: srv.Addr("kcp")}.Dial
	}
	c, err := client.Dial(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Ping(ctx)
	require.NoError(t, err)
	return c
}

// refusal is the code of a failed Dial: a coded Error, or the Close the
// server sent at accept (it may arrive while the client still sends Hello).
func refusal(err error) netcode.Code {
	var ce *netcode.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return netcode.CodeOf(err)
}

// awaitEnd waits for c to end and returns the code it was closed with.
func awaitEnd(t *testing.T, c *client.Client) *netcode.CloseError {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(opsWait):
		require.FailNow(t, "client not closed")
	}
	var ce *netcode.CloseError
	require.ErrorAs(t, c.Err(), &ce)
	return ce
}

// awaitPush returns the next pushed frame of kind k from c, skipping others.
func awaitPush(t *testing.T, c *client.Client, k frame.Kind, f frame.Frame) {
	t.Helper()
	timeout := time.After(opsWait)
	for {
		select {
		case m, ok := <-c.Messages():
			require.True(t, ok, "client ended before a push of kind %d: %v", k, c.Err())
			if m.Kind == k && m.Ref == 0 {
				require.NoError(t, m.Decode(f))
				return
			}
		case <-timeout:
			require.FailNow(t, "no push", "kind %d", k)
		}
	}
}

func TestAdminAPIRefusedWithoutToken(t *testing.T) {
	srv := startAdmin(t, server.Config{})
	c := opsClient(t, srv, "tcp", "victim")
	id := srv.Engine().Sessions()[0].ID
	for _, call := range []struct{ method, path string }{
		{"GET", "/v1/admin/sessions"},
		{"GET", "/v1/admin/rooms"},
		{"POST", fmt.Sprintf("/v1/admin/sessions/%d/kick", id)},
		{"POST", "/v1/admin/rooms/1/close"},
		{"POST", "/v1/admin/drain"},
		{"GET", "/readyz"},
	} {
		for token, code := range map[string]netcode.Code{"": netcode.CodeNotAuthenticated, "wrong-token-0123456789": netcode.CodeBadToken} {
			resp, body := adminDo(t, srv, call.method, call.path, token, "")
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s token %q: %s", call.method, call.path, token, body)
			var e engine.ErrorResponse
			require.NoError(t, json.Unmarshal(body, &e), "%s", body)
			assert.Equal(t, uint16(code), e.Code, "%s %s", call.method, call.path)
		}
	}
	assert.False(t, srv.Engine().Draining(), "a drain without the token did nothing")
	_, err := c.Ping(t.Context())
	require.NoError(t, err, "a kick without the token did nothing")
	fams := scrape(t, srv)
	assert.Equal(t, 6.0, fams.value("tickwire_admin_refused_total", "reason", "missing_token"))
	assert.Equal(t, 6.0, fams.value("tickwire_admin_refused_total", "reason", "wrong_token"))
	assert.Equal(t, 0.0, fams.value("tickwire_admin_actions_total", "action", "kick", "result", "ok"))
}

func TestAdminListsKicksAndClosesRooms(t *testing.T) {
	srv := startAdmin(t, server.Config{})
	a := opsClient(t, srv, "tcp", "alice")
	b := opsClient(t, srv, "kcp", "bob")
	ctx, cancel := context.WithTimeout(context.Background(), opsWait)
	defer cancel()
	ra, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "arena", TickRate: 20})
	require.NoError(t, err)
	rb, err := b.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)

	// Sessions: both, with transport, address, rooms; KCP knows its RTT.
	var sessions []server.AdminSession
	require.Eventually(t, func() bool {
		resp, body := adminDo(t, srv, "GET", "/v1/admin/sessions", adminToken, "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		sessions = nil
		require.NoError(t, json.Unmarshal(body, &sessions))
		return len(sessions) == 2 && sessions[1].RTTMillis > 0
	}, opsWait, 20*time.Millisecond, "two sessions, the KCP one with an RTT")
	byName := map[string]server.AdminSession{}
	for _, s := range sessions {
		byName[s.Name] = s
	}
	assert.Equal(t, "tcp", byName["alice"].Transport)
	assert.Equal(t, "kcp", byName["bob"].Transport)
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, byName["alice"].Remote)
	assert.Equal(t, []uint64{ra.ID()}, byName["alice"].Rooms)
	assert.Equal(t, []uint64{rb.ID()}, byName["bob"].Rooms)
	assert.Equal(t, a.Welcome().UserID, byName["alice"].UserID)

	// Rooms: the one room, two members, its type's tick stats.
	resp, body := adminDo(t, srv, "GET", "/v1/admin/rooms", adminToken, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var listed struct {
		Rooms []rooms.RoomStatus         `json:"rooms"`
		Types map[string]rooms.TypeStats `json:"types"`
	}
	require.NoError(t, json.Unmarshal(body, &listed), "%s", body)
	require.Len(t, listed.Rooms, 1)
	assert.Equal(t, rooms.RoomStatus{ID: ra.ID(), Type: room.RelayType, Label: "arena", Members: 2, Capacity: listed.Rooms[0].Capacity, TickRate: 20, Creator: a.Welcome().UserID}, listed.Rooms[0])
	assert.Contains(t, listed.Types, room.RelayType)

	// Close the room: bob (and alice) get RoomClosed room_closed with the reason.
	resp, body = adminDo(t, srv, "POST", fmt.Sprintf("/v1/admin/rooms/%d/close", ra.ID()), adminToken, `{"reason":"maintenance"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var closed frame.RoomClosed
	awaitPush(t, b, frame.KindRoomClosed, &closed)
	assert.Equal(t, netcode.CodeRoomClosed, closed.Code)
	assert.Equal(t, "maintenance", closed.Message)
	resp, body = adminDo(t, srv, "POST", "/v1/admin/rooms/12345/close", adminToken, "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), `"room_not_found"`)

	// Kick alice: she gets kicked with the reason, and her session is gone
	// for good (not parked: a Resume would find nothing).
	resp, body = adminDo(t, srv, "POST", fmt.Sprintf("/v1/admin/sessions/%d/kick", byName["alice"].ID), adminToken, `{"reason":"cheating"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	ce := awaitEnd(t, a)
	assert.Equal(t, netcode.CodeKicked, ce.Code)
	assert.Equal(t, "cheating", ce.Reason)
	assert.False(t, ce.Code.MayReconnect())
	require.Eventually(t, func() bool { return len(srv.Engine().Sessions()) == 1 }, opsWait, 10*time.Millisecond)
	assert.Zero(t, srv.Engine().Stats().Resume.Parked, "a kicked session is not parked")
	assert.Equal(t, uint64(1), srv.Engine().Stats().Ops.Kicks)
	resp, body = adminDo(t, srv, "POST", fmt.Sprintf("/v1/admin/sessions/%d/kick", byName["alice"].ID), adminToken, "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	resp, body = adminDo(t, srv, "POST", "/v1/admin/sessions/x/kick", adminToken, "")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	_, err = b.Ping(ctx)
	require.NoError(t, err, "bob stays")

	fams := scrape(t, srv)
	assert.Equal(t, 1.0, fams.value("tickwire_admin_actions_total", "action", "kick", "result", "ok"))
	assert.Equal(t, 1.0, fams.value("tickwire_admin_actions_total", "action", "kick", "result", "not_found"))
	assert.Equal(t, 1.0, fams.value("tickwire_admin_actions_total", "action", "kick", "result", "bad_request"))
	assert.Equal(t, 1.0, fams.value("tickwire_admin_actions_total", "action", "close_room", "result", "ok"))
	assert.Equal(t, 1.0, fams.value("tickwire_admin_actions_total", "action", "close_room", "result", "room_not_found"))
}

func TestDrainOverTheWire(t *testing.T) {
	srv := startAdmin(t, server.Config{DrainTimeout: opsWait})
	player := opsClient(t, srv, "kcp", "player")
	idle := opsClient(t, srv, "tcp", "idle")
	ctx, cancel := context.WithTimeout(context.Background(), 2*opsWait)
	defer cancel()
	r, err := player.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, TickRate: 20, EmptyTimeoutMs: 100})
	require.NoError(t, err)

	resp, body := servertest.Request(t, "GET", srv.HTTPURL()+"/readyz", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	resp, body = adminDo(t, srv, "POST", "/v1/admin/drain", adminToken, "")
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", body)

	// Every session is told, with ref 0.
	for _, c := range []*client.Client{player, idle} {
		var e frame.Error
		awaitPush(t, c, frame.KindError, &e)
		assert.Equal(t, netcode.CodeDraining, e.Code)
	}
	// Not ready, on both ports; still alive.
	for _, base := range []string{srv.HTTPURL(), "http://" + srv.AdminAddr()} {
		resp, body = servertest.Request(t, "GET", base+"/readyz", map[string]string{"Authorization": "Bearer " + adminToken}, "")
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
		assert.JSONEq(t, `{"status":"draining"}`, string(body))
	}
	resp, _ = servertest.Request(t, "GET", srv.HTTPURL()+"/healthz", nil, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// A new session is refused with draining, over both transports.
	tok, err := client.GuestToken(ctx, srv.HTTPURL(), "late")
	require.NoError(t, err)
	for _, dial := range []client.DialFunc{kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, tcp.Dialer{Addr: srv.Addr("tcp")}.Dial} {
		_, err = client.Dial(ctx, client.Options{Dial: dial, Token: tok})
		require.Error(t, err)
		assert.Equal(t, netcode.CodeDraining, refusal(err), "%v", err)
	}
	// A new room is refused with draining; the open room runs on.
	_, err = player.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	assert.ErrorIs(t, err, netcode.CodeDraining)
	seq, err := r.SendInput(netcode.Reliable, []byte("still playing"))
	require.NoError(t, err)
	for {
		var tick frame.RoomTick
		awaitPush(t, player, frame.KindRoomTick, &tick)
		if len(tick.Inputs) == 1 && tick.Inputs[0].Seq == seq {
			break
		}
	}
	select {
	case <-srv.Done():
		require.FailNow(t, "the server stopped while a room was open")
	default:
	}
	// The last player leaves: the room ends, and the server with it; the
	// sessions left are closed with draining.
	require.NoError(t, r.Leave(ctx))
	select {
	case <-srv.Done():
	case <-ctx.Done():
		require.FailNow(t, "the drained server did not stop")
	}
	for _, c := range []*client.Client{player, idle} {
		ce := awaitEnd(t, c)
		assert.Equal(t, netcode.CodeDraining, ce.Code)
		assert.True(t, ce.Code.MayReconnect())
	}
	st := srv.Engine().ServiceStats()
	assert.Equal(t, uint64(2), st.SessionsRefused["draining"])
	assert.Equal(t, uint64(1), srv.Rooms().Stats().Refused.Draining)
	assert.Equal(t, uint64(2), st.Closes["draining"])
}

// opsUser registers name on srv and dials it over TCP.
func opsUser(t *testing.T, srv *server.Server, name, path string) (*client.Client, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opsWait)
	defer cancel()
	var u struct {
		Token  string `json:"token"`
		UserID string `json:"user_id"`
	}
	require.NoError(t, client.PostJSON(ctx, nil, srv.HTTPURL()+path,
		map[string]string{"username": name, "password": "long enough pw"}, &u))
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: u.Token, QueueSize: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Ping(ctx)
	require.NoError(t, err)
	return c, u.UserID
}

// TestDrainLosesNoMessage: direct messages sent while the server drains
// and shuts down are never lost. Every message the sender got MessageSent
// for is stored (it is in the history after a restart on the same data
// directory), and every one acknowledged before the drain began reached
// the online recipient before his session was closed with draining (the
// push is queued before MessageSent, and a session's queue is flushed
// before its Close). Messages in flight fail with a code (may or may not
// have been done) instead of vanishing silently.
func TestDrainLosesNoMessage(t *testing.T) {
	dir := t.TempDir()
	argon := accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	cfg := server.Config{DataDir: dir, Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}}, Accounts: accounts.Config{Argon2: argon},
		Social: social.Config{MessagesPerSecond: 100000, MessageBurst: 100000}}
	srv := servertest.Start(t, cfg)
	alice, aliceID := opsUser(t, srv, "alice", "/v1/auth/register")
	bob, bobID := opsUser(t, srv, "bob", "/v1/auth/register")
	ctx, cancel := context.WithTimeout(context.Background(), 2*opsWait)
	defer cancel()
	require.NoError(t, alice.RequestFriend(ctx, "bob"))
	require.NoError(t, bob.AcceptFriend(ctx, aliceID))

	// Bob collects what reaches him live until his session ends.
	live := map[uint64]bool{}
	bobDone := make(chan struct{})
	go func() {
		defer close(bobDone)
		for m := range bob.Messages() {
			if m.Kind == frame.KindMessage {
				var msg frame.Message
				if m.Decode(&msg) == nil {
					live[msg.ID] = true
				}
			}
		}
	}()

	// Alice sends before the drain, then keeps sending while it runs.
	const before, during = 20, 200
	var ackedBefore []uint64
	for i := range before {
		sent, err := alice.SendDirect(ctx, bobID, fmt.Sprintf("before %d", i))
		require.NoError(t, err)
		ackedBefore = append(ackedBefore, sent.ID)
	}
	type result struct {
		id  uint64
		err error
	}
	results := make(chan result, during)
	go func() {
		for i := range during {
			sent, err := alice.SendDirect(ctx, bobID, fmt.Sprintf("during %d", i))
			results <- result{sent.ID, err}
		}
		close(results)
	}()
	var acked []uint64
	for range 5 { // the drain starts with requests in flight
		r := <-results
		require.NoError(t, r.err)
		acked = append(acked, r.id)
	}
	dctx, dcancel := context.WithTimeout(ctx, opsWait)
	assert.True(t, srv.Drain(dctx), "no room was open")
	dcancel()
	require.NoError(t, srv.Shutdown(ctx))
	failed := 0
	for r := range results {
		if r.err != nil {
			failed++
			assert.True(t, netcode.CodeOf(r.err) != netcode.CodeOK, "a failure carries a code: %v", r.err)
			continue
		}
		acked = append(acked, r.id)
	}
	<-bobDone
	t.Logf("during the drain: %d acknowledged, %d failed; bob got %d live", len(acked), failed, len(live))
	for _, id := range ackedBefore {
		assert.True(t, live[id], "message %d, acknowledged before the drain, reached bob before his Close", id)
	}
	ce := awaitEnd(t, bob)
	assert.Equal(t, netcode.CodeDraining, ce.Code)

	// The next start on the same data: every acknowledged message is stored.
	srv2 := servertest.Start(t, cfg)
	bob2, _ := opsUser(t, srv2, "bob", "/v1/auth/login")
	stored := map[uint64]bool{}
	var beforeID uint64
	for {
		msgs, more, err := bob2.History(ctx, 0, aliceID, beforeID, 100)
		require.NoError(t, err)
		for _, m := range msgs {
			stored[m.ID] = true
		}
		if !more || len(msgs) == 0 {
			break
		}
		beforeID = msgs[0].ID
	}
	for _, id := range append(ackedBefore, acked...) {
		assert.True(t, stored[id], "acknowledged message %d is stored", id)
	}
	for id := range live {
		assert.True(t, stored[id], "delivered message %d is stored", id)
	}
}

func TestAdminNotice(t *testing.T) {
	srv := startAdmin(t, server.Config{})
	a := opsClient(t, srv, "tcp", "alice")
	b := opsClient(t, srv, "kcp", "bob")
	next := func(c *client.Client) frame.Notice {
		t.Helper()
		timeout := time.After(opsWait)
		for {
			select {
			case m, open := <-c.Messages():
				require.True(t, open, "client ended: %v", c.Err())
				n, ok, err := client.DecodeNotice(m)
				require.NoError(t, err)
				if ok {
					return n
				}
			case <-timeout:
				require.FailNow(t, "no notice")
			}
		}
	}
	// To one user: bob only.
	resp, body := adminDo(t, srv, "POST", "/v1/admin/notice", adminToken, fmt.Sprintf(`{"text":"bob, please","user_id":%q}`, b.Welcome().UserID))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.JSONEq(t, `{"sessions":1}`, string(body))
	// To everyone.
	resp, body = adminDo(t, srv, "POST", "/v1/admin/notice", adminToken, `{"text":"restart in 5 minutes"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.JSONEq(t, `{"sessions":2}`, string(body))
	assert.Equal(t, frame.Notice{Text: "bob, please"}, next(b))
	assert.Equal(t, frame.Notice{Text: "restart in 5 minutes"}, next(b))
	assert.Equal(t, frame.Notice{Text: "restart in 5 minutes"}, next(a), "alice's first notice is the one to everyone")

	resp, body = adminDo(t, srv, "POST", "/v1/admin/notice", adminToken, `{"text":""}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	assert.Equal(t, uint64(2), srv.Engine().Stats().Ops.Notices)
	fams := scrape(t, srv)
	assert.Equal(t, 2.0, fams.value("tickwire_admin_actions_total", "action", "notice", "result", "ok"))
	assert.Equal(t, 1.0, fams.value("tickwire_admin_actions_total", "action", "notice", "result", "bad_request"))
}
