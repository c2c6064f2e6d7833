package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// A WebSocket client joins a relay room through the public assembly
// beside a TCP client: each hears the other's inputs in tick broadcasts,
// reliable and unreliable. A foreign Origin and a forged token are
// refused before the upgrade, an oversized message closes its connection
// with frame_too_large, and the room goes on.
func TestWebSocketJoinsARelayRoom(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(), &ws.Transport{}),
	})
	ctx := ctxT(t)
	url := "ws" + strings.TrimPrefix(srv.HTTPURL(), "http") + srv.Addr("ws")
	tokWS := guest(t, srv, "browser")
	wc, err := client.Dial(ctx, client.Options{Dial: ws.Dialer{URL: url, Token: tokWS}.Dial, Token: tokWS})
	require.NoError(t, err)
	t.Cleanup(func() { _ = wc.Close() })
	tc, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: guest(t, srv, "tcp")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tc.Close() })

	ra, err := wc.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "ws", Capacity: 2, TickRate: 30})
	require.NoError(t, err)
	rb, err := tc.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)
	_, err = ra.SendInput(netcode.Unreliable, []byte("over websocket"))
	require.NoError(t, err)
	_, err = rb.SendInput(netcode.Reliable, []byte("over tcp"))
	require.NoError(t, err)

	hears(t, tc, rb, ra.Me(), "over websocket")
	hears(t, wc, ra, rb.Me(), "over tcp")

	// Refused before the upgrade, with the code.
	_, err = ws.Dialer{URL: url, Header: http.Header{"Origin": {"https://evil.test"}}}.DialWS(ctx)
	assert.Equal(t, netcode.CodeForbidden, netcode.CodeOf(err), "%v", err)
	_, err = ws.Dialer{URL: url, Token: "forged"}.DialWS(ctx)
	assert.Equal(t, netcode.CodeBadToken, netcode.CodeOf(err), "%v", err)

	// The transport's limit is the engine's frame limit.
	raw, err := ws.Dial(ctx, url, ws.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close(netcode.CodeOK, "") })
	require.NoError(t, raw.WriteMessage(netcode.Reliable, make([]byte, 64<<10)))
	_, _, err = raw.ReadMessage()
	var ce *netcode.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, netcode.CodeFrameTooLarge, ce.Code)

	// The room still ticks for both.
	_, err = ra.SendInput(netcode.Reliable, []byte("still here"))
	require.NoError(t, err)
	hears(t, tc, rb, ra.Me(), "still here")
}
