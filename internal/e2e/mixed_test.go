package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// One relay room with a member on each of the five transports: KCP, TCP,
// WebSocket, long-polling and WebRTC. Every member hears every other
// member's reliable input in a reliable tick broadcast, and unreliable
// inputs travel on the unreliable channel both ways: the WebRTC member's
// unreliable input reaches the KCP member in an unreliable tick (so the
// server read it from WebRTC's unreliable data channel), and the KCP
// member's unreliable input reaches the WebRTC member in an unreliable
// tick (so it was written on that data channel).
func TestFiveTransportsShareARoom(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(),
			&ws.Transport{}, &longpoll.Transport{}, &webrtc.Transport{Addr: "127.0.0.1:0"}),
	})
	ctx := ctxT(t)
	wsURL := "ws" + strings.TrimPrefix(srv.HTTPURL(), "http") + srv.Addr("ws")
	dialers := map[string]func(tok string) client.DialFunc{
		"kcp":      func(string) client.DialFunc { return kcp.Dialer{Addr: srv.Addr("kcp")}.Dial },
		"tcp":      func(string) client.DialFunc { return tcp.Dialer{Addr: srv.Addr("tcp")}.Dial },
		"ws":       func(tok string) client.DialFunc { return ws.Dialer{URL: wsURL, Token: tok}.Dial },
		"longpoll": func(tok string) client.DialFunc { return longpoll.Dialer{URL: srv.HTTPURL(), Token: tok}.Dial },
		"webrtc":   func(tok string) client.DialFunc { return webrtc.Dialer{URL: srv.HTTPURL(), Token: tok}.Dial },
	}
	names := []string{"kcp", "tcp", "ws", "longpoll", "webrtc"}
	clients := map[string]*client.Client{}
	for _, n := range names {
		tok := guest(t, srv, n)
		c, err := client.Dial(ctx, client.Options{Dial: dialers[n](tok), Token: tok, QueueSize: 4096})
		require.NoError(t, err, n)
		t.Cleanup(func() { _ = c.Close() })
		clients[n] = c
		assert.Equal(t, n, c.Stats().Transport, "the session really runs over %s", n)
	}

	rooms := map[string]*client.Room{}
	r0, err := clients["kcp"].CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "five", Capacity: 5, TickRate: 30})
	require.NoError(t, err)
	rooms["kcp"] = r0
	for _, n := range names[1:] {
		r, err := clients[n].JoinRoom(ctx, r0.ID())
		require.NoError(t, err, n)
		rooms[n] = r
	}
	member := map[uint32]string{}
	for n, r := range rooms {
		member[r.Me()] = n
	}

	for _, n := range names {
		_, err := rooms[n].SendInput(netcode.Reliable, []byte("reliable from "+n))
		require.NoError(t, err)
	}
	// Unreliable inputs may be dropped: a few copies, a tick apart.
	for i := range 5 {
		for _, n := range []string{"kcp", "webrtc"} {
			_, err := rooms[n].SendInput(netcode.Unreliable, []byte(fmt.Sprintf("unreliable from %s %d", n, i)))
			require.NoError(t, err)
		}
		<-time.After(time.Second / 30)
	}

	type heard struct {
		reliable   map[string]bool // sender -> its reliable input arrived in a reliable tick
		unreliable map[string]bool // sender -> an unreliable input arrived in an unreliable tick
	}
	listen := func(n string) heard {
		h := heard{reliable: map[string]bool{}, unreliable: map[string]bool{}}
		c, r := clients[n], rooms[n]
		want := func() bool {
			if len(h.reliable) < len(names)-1 {
				return false
			}
			switch n {
			case "kcp":
				return h.unreliable["webrtc"]
			case "webrtc":
				return h.unreliable["kcp"]
			}
			return true
		}
		for !want() {
			select {
			case m, ok := <-c.Messages():
				require.True(t, ok, "%s ended: %v", n, c.Err())
				u, isRoom, err := client.DecodeRoomUpdate(m)
				require.NoError(t, err)
				if !isRoom || !r.Owns(u) || u.Tick == nil {
					continue
				}
				for _, in := range u.Tick.Inputs {
					from := member[in.Member]
					if from == n {
						continue
					}
					switch {
					case u.Channel == netcode.Reliable && string(in.Data) == "reliable from "+from:
						h.reliable[from] = true
					case u.Channel == netcode.Unreliable && strings.HasPrefix(string(in.Data), "unreliable from "+from):
						h.unreliable[from] = true
					case u.Channel == netcode.Unreliable && strings.HasPrefix(string(in.Data), "reliable"):
						t.Errorf("%s: a reliable input of %s came in an unreliable tick", n, from)
					}
				}
			case <-ctx.Done():
				t.Fatalf("%s heard only %v reliable and %v unreliable", n, h.reliable, h.unreliable)
			}
		}
		return h
	}
	for _, n := range names {
		h := listen(n)
		assert.Len(t, h.reliable, len(names)-1, "%s hears every other member", n)
	}
}
