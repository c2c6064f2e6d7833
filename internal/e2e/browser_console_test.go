package e2e

// The admin console (server/console, docs/OPERATIONS.md "Console") in
// headless Chromium: the page loads from the admin listener without the
// token, takes the token, and shows a real Go SDK session and live charts,
// while its data stays behind the token.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const consoleToken = "console-test-admin-token-0123456789"

// consoleStep bounds one state of the console: a poll is every second.
const consoleStep = 8 * time.Second

func TestBrowserConsoleShowsLiveSession(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		AdminAddr: servertest.Loopback,
		Engine:    engine.Config{AdminToken: consoleToken},
	})
	admin := "http://" + srv.AdminAddr()

	// The page and its files load without the token, with a strict CSP;
	// the data it reads does not.
	for _, path := range []string{"/console", "/console/console.js", "/console/console.css"} {
		resp, _ := servertest.Request(t, http.MethodGet, admin+path, nil, "")
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'", path)
	}
	resp, _ := servertest.Request(t, http.MethodGet, admin+"/console/nope.js", nil, "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	for _, path := range []string{"/v1/admin/sessions", "/v1/admin/rooms", "/v1/stats", "/metrics"} {
		resp, _ := servertest.Request(t, http.MethodGet, admin+path, nil, "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s without the token", path)
		resp, _ = servertest.Request(t, http.MethodGet, admin+path, map[string]string{"Authorization": "Bearer wrong-token-wrong-token"}, "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s with a wrong token", path)
	}

	// A real Go SDK session over KCP, in a room that ticks.
	c := dial(t, srv, transportKCP, client.Options{Token: guest(t, srv, "console-player")})
	ctx, cancel := context.WithTimeout(context.Background(), consoleStep)
	defer cancel()
	r, err := c.JoinOrCreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "console-arena", Capacity: 4, TickRate: 30})
	require.NoError(t, err)
	_, err = c.Ping(ctx)
	require.NoError(t, err)

	b := startBrowser(t)
	tb := b.newTab(t, "operator")
	tb.navigate(t, admin+"/console")
	var status string
	tb.eval(t, `document.querySelector('[data-test="status"]').textContent`, &status)
	require.Contains(t, status, "Enter the admin token")
	demoType(t, tb, "token", consoleToken)
	tb.eval(t, `document.querySelector('[data-test="connect"]').click()`, nil)

	wel := c.Welcome()
	row := `document.querySelector('[data-test="session-row"][data-id="` + strconv.FormatUint(wel.SessionID, 10) + `"]')`
	tb.waitJS(t, row+` !== null`, consoleStep)
	var got struct {
		User, Transport, ByTransport, Rooms string
	}
	tb.eval(t, `(() => { const r = `+row+`; return {
		User: r.querySelector('[data-test="session-user"]').textContent,
		Transport: r.querySelector('[data-test="session-transport"]').textContent,
		ByTransport: document.querySelector('[data-test="by-transport"]').textContent,
		Rooms: document.querySelector('[data-test="rooms"]').textContent,
	}; })()`, &got)
	assert.Equal(t, "kcp", got.Transport)
	assert.Equal(t, wel.UserID, got.User)
	assert.Contains(t, got.ByTransport, "kcp: 1")
	assert.Contains(t, got.Rooms, "console-arena", "the room the client joined")
	assert.Contains(t, got.Rooms, strconv.FormatUint(r.ID(), 10))

	// The charts fill as the polls come in: drops per second from the
	// second poll on, lateness from the first tick.
	for _, chart := range []string{"chart-drops", "chart-lateness"} {
		tb.waitJS(t, `Number(document.querySelector('[data-test="`+chart+`"] polyline').dataset.points) >= 2`, consoleStep)
	}
	tb.eval(t, `document.querySelector('[data-test="status"]').textContent`, &status)
	assert.True(t, strings.HasPrefix(status, "Live"), status)
	// The RTT chart: KCP keeps a smoothed RTT, so the session gives points.
	tb.waitJS(t, `Number(document.querySelector('[data-test="chart-rtt"] polyline').dataset.points) >= 1`, consoleStep)

	// Kick from the console (the confirm dialog answered yes): the exact
	// 64-bit session id reaches the admin API and the client ends kicked.
	tb.eval(t, `window.confirm = () => true; `+row+`.querySelector('[data-test="kick"]').click()`, nil)
	select {
	case <-c.Done():
	case <-time.After(consoleStep):
		require.FailNow(t, "the client was not kicked")
	}
	var ce *netcode.CloseError
	require.ErrorAs(t, c.Err(), &ce)
	assert.Equal(t, netcode.CodeKicked, ce.Code)
	tb.waitJS(t, row+` === null`, consoleStep)
	tb.requireNoProblems(t)

	// A wrong token: the page says so and keeps no data on screen fresh.
	tb2 := b.newTab(t, "stranger")
	tb2.ignoreProblems(`401`) // Chromium logs the refused fetch
	tb2.navigate(t, admin+"/console")
	demoType(t, tb2, "token", "wrong-token-wrong-token")
	tb2.eval(t, `document.querySelector('[data-test="connect"]').click()`, nil)
	tb2.waitJS(t, `document.querySelector('[data-test="status"]').textContent.includes("refused")`, consoleStep)
	var rows int
	tb2.eval(t, `document.querySelectorAll('[data-test="session-row"]').length`, &rows)
	assert.Zero(t, rows, "nothing shown without the right token")
}
