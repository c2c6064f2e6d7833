package e2e

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/internal/peertest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// lifecycle is a service that claims no kind and reports every
// PeerOpened and PeerClosed.
type lifecycle struct {
	opened, closed chan uint64
}

func newLifecycle() *lifecycle {
	return &lifecycle{opened: make(chan uint64, 16), closed: make(chan uint64, 16)}
}

func (*lifecycle) Name() string                { return "lifecycle" }
func (*lifecycle) Handles(frame.Kind) bool     { return false }
func (l *lifecycle) PeerOpened(p service.Peer) { l.opened <- p.SessionID() }
func (l *lifecycle) PeerClosed(p service.Peer) { l.closed <- p.SessionID() }
func (*lifecycle) HandleFrame(time.Time, service.Peer, netcode.Channel, frame.Kind, []byte) (uint32, error) {
	return 0, nil
}

// muteConn is a TCP stream whose writes vanish once mute is set: the peer
// hears nothing more (no heartbeat, no close record, no FIN), as when a
// client's network goes away.
type muteConn struct {
	net.Conn
	mute atomic.Bool
}

func (m *muteConn) Write(b []byte) (int, error) {
	if m.mute.Load() {
		return len(b), nil
	}
	return m.Conn.Write(b)
}

// vanishing dials tr with a connection that can be made to go silent.
// The returned func makes it vanish.
// Its transport heartbeats every hb, as Welcome asks of a live client.
func vanishing(t *testing.T, srv *server.Server, tr string, hb time.Duration) (netcode.Conn, func()) {
	t.Helper()
	if tr == transportTCP {
		nc, err := net.Dial("tcp", srv.Addr("tcp"))
		require.NoError(t, err)
		mc := &muteConn{Conn: nc}
		c := tcp.NewConn(mc, tcp.Config{HeartbeatInterval: hb})
		t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "test over") })
		return c, func() { mc.mute.Store(true) }
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	raddr, err := net.ResolveUDPAddr("udp", srv.Addr("kcp"))
	require.NoError(t, err)
	c, err := kcp.DialPacket(ctxT(t), pc, raddr, kcp.Config{HeartbeatInterval: hb})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "test over") })
	var once sync.Once
	return c, func() { once.Do(func() { _ = pc.Close() }) } // the socket dies: nothing more is sent
}

// A client that vanishes without closing is detected by the transport's
// idle timeout; the engine then ends its session (counted as
// idle_timeout), services get PeerClosed, and other sessions carry on.
// Resume is off here: with it, the session would first wait its resume
// window (the resume tests cover that part).
func TestVanishedClientIsReclaimed(t *testing.T) {
	const hb, idle = 50 * time.Millisecond, 400 * time.Millisecond
	svc := newLifecycle()
	srv := servertest.Start(t, server.Config{Engine: engine.Config{
		HeartbeatInterval: hb, IdleTimeout: idle, Services: []service.Service{svc},
		ResumeWindow: -1,
	}})
	forEachTransport(t, func(t *testing.T, tr string) {
		bystander := dial(t, srv, tr, client.Options{})
		<-svc.opened

		c, vanish := vanishing(t, srv, tr, hb)
		r := peertest.New(t, c, wait).Pump()
		w := r.Hello(guest(t, srv, "ghost"))
		select {
		case id := <-svc.opened:
			require.Equal(t, w.SessionID, id)
		case <-time.After(wait):
			require.FailNow(t, "PeerOpened not called")
		}
		require.EqualValues(t, idle/time.Millisecond, w.IdleTimeoutMs, "Welcome advertises the enforced timeout")

		// Heartbeats keep a silent but alive client open past the timeout.
		before := srv.Engine().Stats().Closes["idle_timeout"]
		select {
		case id := <-svc.closed:
			require.FailNow(t, "session closed while its client was alive", "session %d", id)
		case <-time.After(3 * idle):
		}

		vanish()
		start := time.Now()
		select {
		case id := <-svc.closed:
			require.Equal(t, w.SessionID, id)
		case <-time.After(wait):
			require.FailNow(t, "vanished session never closed")
		}
		elapsed := time.Since(start)
		// Detection comes one idle timeout after the last datagram or
		// record heard, plus a transport tick; the slack covers a loaded
		// machine under -race.
		assert.Less(t, elapsed, idle+600*time.Millisecond, "reclaimed within the idle timeout")
		assert.Equal(t, before+1, srv.Engine().Stats().Closes["idle_timeout"])

		echoRoundTrip(t, bystander, netcode.Reliable, 1)
		require.NoError(t, bystander.Close())
		<-svc.closed
	})
	require.Eventually(t, func() bool { return srv.Engine().Stats().SessionsOpen == 0 }, wait, time.Millisecond)
}
