package e2e

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// A signaling payload arrives byte for byte, whatever transport each
// side uses: five guests in one relay room, one on each of KCP, TCP,
// WebSocket, long-polling and WebRTC, each signal every other one a
// payload of every byte value plus random bytes up to the server's
// limit, addressed by session. Each receiver sees exactly the bytes sent,
// the sender's user and session, and the room.
func TestSignalPayloadByteIdenticalAcrossTransports(t *testing.T) {
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
	var roomID uint64
	for i, n := range names {
		tok := guest(t, srv, n)
		c, err := client.Dial(ctx, client.Options{Dial: dialers[n](tok), Token: tok, QueueSize: 4096})
		require.NoError(t, err, n)
		t.Cleanup(func() { _ = c.Close() })
		assert.Equal(t, n, c.Stats().Transport, "the session really runs over %s", n)
		clients[n] = c
		if i == 0 {
			r, err := c.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Capacity: 5, TickRate: 1})
			require.NoError(t, err)
			roomID = r.ID()
		} else {
			_, err := c.JoinRoom(ctx, roomID)
			require.NoError(t, err, n)
		}
	}

	// payload is what from sends to: every byte value, then random bytes
	// up to the default limit.
	rng := rand.New(rand.NewPCG(1, 2))
	payloads := map[[2]string][]byte{}
	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			p := make([]byte, social.DefaultMaxSignalBytes)
			for i := range p {
				if i < 256 {
					p[i] = byte(i)
				} else {
					p[i] = byte(rng.Uint32())
				}
			}
			payloads[[2]string{from, to}] = p
		}
	}
	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			c := clients[to]
			require.NoError(t, clients[from].SignalSession(ctx, roomID, c.Welcome().UserID, c.Welcome().SessionID,
				payloads[[2]string{from, to}]), "%s -> %s", from, to)
		}
	}
	bySession := map[uint64]string{}
	for n, c := range clients {
		bySession[c.Welcome().SessionID] = n
	}
	for _, to := range names {
		c := clients[to]
		got := map[string]bool{}
		for len(got) < len(names)-1 {
			select {
			case m := <-c.Messages():
				if m.Kind != frame.KindSignalRecv {
					continue
				}
				var r frame.SignalRecv
				require.NoError(t, m.Decode(&r))
				from, ok := bySession[r.FromSession]
				require.True(t, ok, "from a session of the test")
				assert.Equal(t, clients[from].Welcome().UserID, r.FromUserID)
				assert.Equal(t, roomID, r.RoomID)
				assert.False(t, got[from], "%s -> %s twice", from, to)
				got[from] = true
				assert.True(t, bytes.Equal(payloads[[2]string{from, to}], r.Payload), "%s -> %s: payload differs", from, to)
			case <-ctx.Done():
				t.Fatalf("%s received %d of %d signals", to, len(got), len(names)-1)
			}
		}
	}
	st := srv.Social().Stats().Signal
	assert.Equal(t, uint64(20), st.Relayed)
	assert.Equal(t, uint64(20), st.Recipients)
}
