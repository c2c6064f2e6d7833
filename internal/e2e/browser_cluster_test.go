package e2e

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/internal/clustertest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// clusterJS connects the page's SDK to the node that served it, over
// WebSocket, and join-or-creates the "web" relay room another node owns:
// the SDK follows the redirect to that node by itself. It records the
// inputs of member %d (the Go member) that reach the page.
const clusterJS = `(async () => {
	const { Client } = await import("/web/tickwire.js");
	const { token } = await Client.guest(location.origin, "Web");
	const c = await Client.connect({ token, transports: ["websocket"], requestTimeoutMs: 10000 });
	const room = await c.joinOrCreateRoom({ type: "relay", label: "web" });
	const st = window.st = { got: [] };
	room.on("tick", (t) => {
		for (const i of t.inputs) if (i.member === %d) st.got.push(new TextDecoder().decode(i.data));
	});
	window.room = room;
	room.send(new TextEncoder().encode("from-browser"), { reliable: true });
	return { id: String(room.id), members: room.members.size };
})()`

// A browser on node 1 reaches the room node 0 owns through a redirect the
// JS SDK follows by itself (a second WebSocket session, to node 0), and
// inputs flow both ways with a Go member on node 0.
func TestBrowserFollowsRedirect(t *testing.T) {
	c := clustertest.Start(t, 2, clustertest.Options{Configure: func(i int, cfg *server.Config) {
		cfg.Routes = servertest.Demo(t)
		cfg.Transports = append(servertest.Transports(), &ws.Transport{})
		cfg.Engine.AllowedOrigins = []string{"*"} // the page of node 1 opens a WebSocket to node 0
	}})
	ann := c.Dial(t, 0, "ann")
	ctx := ctxT(t)
	r, err := ann.JoinOrCreateRoom(ctx, client.RoomOptions{Type: "relay", Label: "web"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, e := range c.Node(1).Srv.ClusterDirectory().Remote()["n0"] {
			if e.Room == r.ID() {
				return true
			}
		}
		return false
	}, wait, 5*time.Millisecond)

	b := startBrowser(t)
	tab := b.newTab(t, "web")
	tab.ignoreProblems(faviconNotFound)
	tab.navigate(t, c.Node(1).Srv.HTTPURL()+"/healthz")
	var joined struct {
		ID      string `json:"id"`
		Members int    `json:"members"`
	}
	tab.eval(t, fmt.Sprintf(clusterJS, r.Me()), &joined)
	assert.Equal(t, fmt.Sprint(r.ID()), joined.ID, "the page joined the room node 0 owns")
	assert.Equal(t, 2, joined.Members)
	assert.Equal(t, uint64(1), c.Node(1).Srv.ClusterDirectory().Stats().Redirects)
	assert.Equal(t, uint64(1), c.Node(0).Srv.ClusterDirectory().Stats().Tickets.Redeemed)

	// The page's input reaches the Go member on node 0...
	deadline := time.After(wait)
	for seen := false; !seen; {
		select {
		case m := <-ann.Messages():
			u, ok, err := client.DecodeRoomUpdate(m)
			require.NoError(t, err)
			if ok && r.Owns(u) && u.Tick != nil {
				for _, in := range u.Tick.Inputs {
					seen = seen || bytes.Equal(in.Data, []byte("from-browser"))
				}
			}
		case <-deadline:
			t.Fatal("the browser's input never reached node 0's member")
		}
	}
	// ...and the Go member's reaches the page.
	_, err = r.SendInput(netcode.Reliable, []byte("from-go"))
	require.NoError(t, err)
	tab.waitJS(t, `window.st.got.includes("from-go")`, wait)
	tab.requireNoProblems(t)
}
