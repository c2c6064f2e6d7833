package kcp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// rawSocket is a plain UDP socket aimed at a listener, for forged input.
func rawSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// replies reads every datagram that arrives within window.
func replies(t *testing.T, pc *net.UDPConn, window time.Duration) [][]byte {
	t.Helper()
	var out [][]byte
	buf := make([]byte, 2048)
	require.NoError(t, pc.SetReadDeadline(time.Now().Add(window)))
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			require.True(t, errors.As(err, &ne) && ne.Timeout(), "read: %v", err)
			return out
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
}

func totalDrops(l *Listener) uint64 {
	var n uint64
	for _, d := range l.Stats().Drops {
		n += d
	}
	return n
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestSpoofedDatagramsCreateNoState(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })

	// A real session exists, so that forged datagrams have something to
	// aim at; its token is unknown to the attacker.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	victim, err := Dial(ctx, l.Addr().String(), Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = victim.Close(netcode.CodeOK, "") })
	_, err = l.AcceptKCP()
	require.NoError(t, err)
	require.Equal(t, 1, l.SessionCount())

	forgedKCP := make([]byte, sessionHeaderSize+24)
	putSessionHeader(forgedKCP, sessionHeader{Type: typeKCP, Token: 42, PN: 0})
	binary.LittleEndian.PutUint32(forgedKCP[sessionHeaderSize:], 1234) // conv
	forgedKCP[sessionHeaderSize+4] = kcpCmdPush

	victimToken := make([]byte, sessionHeaderSize+24) // the right token from the wrong address
	putSessionHeader(victimToken, sessionHeader{Type: typeKCP, Token: victim.token})
	copy(victimToken[sessionHeaderSize:], forgedKCP[sessionHeaderSize:])

	unreliable := make([]byte, unreliableHeader+10)
	putSessionHeader(unreliable, sessionHeader{Type: typeUnreliable, Token: 7})

	closeMsg := appendControl(make([]byte, sessionHeaderSize), control{Type: ctlClose, Code: netcode.CodeOK})
	putSessionHeader(closeMsg, sessionHeader{Type: typeControl, Token: victim.token})

	badCookie := appendHandshake(nil, handshake{Type: typeConnect, Nonce: [8]byte{1}, Bucket: bucketOf(time.Now())})
	staleCookie := appendHandshake(nil, handshake{Type: typeConnect, Nonce: [8]byte{1}, Bucket: 3})

	bareKCP := make([]byte, 24) // kcp-go packet without our prefix
	binary.LittleEndian.PutUint32(bareKCP, 0x10203040)
	bareKCP[4] = kcpCmdPush

	cases := map[string][]byte{
		"empty":               {},
		"random_1":            randomBytes(1),
		"random_64":           randomBytes(64),
		"random_1400":         randomBytes(1400),
		"bare_kcp":            bareKCP,
		"forged_kcp":          forgedKCP,
		"stolen_token":        victimToken,
		"unreliable_nobody":   unreliable,
		"forged_close":        closeMsg,
		"connect_bad_cookie":  badCookie,
		"connect_old_cookie":  staleCookie,
		"short_hello":         appendHandshake(nil, handshake{Type: typeHello})[:40],
		"accept_to_server":    appendHandshake(nil, handshake{Type: typeAccept}),
		"wrong_version_hello": append([]byte{typeHello, 99}, make([]byte, 200)...),
	}
	for name, dgram := range cases {
		t.Run(name, func(t *testing.T) {
			before := totalDrops(l)
			pc := rawSocket(t)
			_, err := pc.WriteTo(dgram, l.Addr())
			require.NoError(t, err)
			require.Eventually(t, func() bool { return totalDrops(l) > before }, 5*time.Second, time.Millisecond,
				"the listener counts the datagram as dropped")
			for _, r := range replies(t, pc, 50*time.Millisecond) {
				assert.LessOrEqual(t, len(r), len(dgram), "reply larger than the datagram that caused it")
			}
			assert.Equal(t, 1, l.SessionCount(), "no session created or destroyed")
		})
	}

	t.Run("hello_gets_small_cookie_and_no_state", func(t *testing.T) {
		pc := rawSocket(t)
		hello := appendHandshake(nil, handshake{Type: typeHello, Nonce: [8]byte{9}})
		_, err := pc.WriteTo(hello, l.Addr())
		require.NoError(t, err)
		rs := replies(t, pc, 200*time.Millisecond)
		require.Len(t, rs, 1)
		assert.LessOrEqual(t, len(rs[0]), len(hello))
		h, err := decodeHandshake(rs[0])
		require.NoError(t, err)
		assert.Equal(t, byte(typeCookie), h.Type)
		assert.Equal(t, 1, l.SessionCount())
	})

	// The victim's session survived every forged datagram.
	vin := conntest.Pump(t, victim)
	l.ep.mu.Lock()
	s := l.ep.byToken[victim.token]
	l.ep.mu.Unlock()
	require.NotNil(t, s)
	require.NoError(t, s.WriteMessage(netcode.Reliable, []byte("still here")))
	r := conntest.Recv(t, vin, 5*time.Second)
	require.NoError(t, r.Err)
	assert.Equal(t, "still here", string(r.Data))
}

// A repeated Connect (our Accept was lost) and a stolen cookie:
// TestSealedHandshakeByHand (seal_test.go).

func TestVanishedClientIsReclaimed(t *testing.T) {
	cfg := Config{IdleTimeout: 300 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond}
	l, err := Listen("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	pc := rawSocket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := DialPacket(ctx, pc, l.Addr(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close(netcode.CodeOK, "") })
	server, err := l.AcceptKCP()
	require.NoError(t, err)
	sin := conntest.Pump(t, server)

	// Heartbeats keep a silent but alive session open past the timeout.
	select {
	case r := <-sin:
		require.FailNow(t, "session ended while the client was alive", "%v", r.Err)
	case <-time.After(3 * cfg.IdleTimeout):
	}
	require.Equal(t, 1, l.SessionCount())

	// The client vanishes: its socket dies, nothing is sent, no Close.
	require.NoError(t, pc.Close())
	start := time.Now()
	r := conntest.Recv(t, sin, 5*time.Second)
	elapsed := time.Since(start)
	require.ErrorIs(t, r.Err, netcode.ErrIdleTimeout)
	assert.Equal(t, netcode.CodeIdleTimeout, netcode.CodeOf(r.Err))
	// Silence is counted from the last datagram heard, so detection comes
	// at most one idle timeout after the vanishing, plus a tick (and slack
	// for a loaded test machine).
	assert.Less(t, elapsed, cfg.IdleTimeout+500*time.Millisecond, "detected within the idle timeout")
	require.Eventually(t, func() bool { return l.SessionCount() == 0 }, time.Second, 5*time.Millisecond)
	require.ErrorIs(t, server.WriteMessage(netcode.Reliable, []byte("x")), netcode.ErrIdleTimeout)
}

func TestHandshakeTimeoutAndReject(t *testing.T) {
	// Nobody listens: the handshake times out with ErrHandshake.
	pc := rawSocket(t)
	start := time.Now()
	_, err := Dial(context.Background(), pc.LocalAddr().String(), Config{HandshakeTimeout: 300 * time.Millisecond})
	require.ErrorIs(t, err, netcode.ErrHandshake)
	assert.Less(t, time.Since(start), 3*time.Second)

	// A full listener rejects with a code the client can act on.
	l, err := Listen("127.0.0.1:0", Config{MaxSessions: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c1, err := Dial(ctx, l.Addr().String(), Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c1.Close(netcode.CodeOK, "") })
	_, err = Dial(ctx, l.Addr().String(), Config{})
	require.ErrorIs(t, err, netcode.ErrHandshake)
	assert.Equal(t, netcode.CodeRateLimited, netcode.CodeOf(err))
	assert.Equal(t, uint64(1), l.Stats().Rejected)
}

func TestListenerCloseKeepsSessions(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := Dial(ctx, l.Addr().String(), Config{})
	require.NoError(t, err)
	defer client.Close(netcode.CodeOK, "")
	server, err := l.AcceptKCP()
	require.NoError(t, err)
	require.NoError(t, l.Close())
	_, err = l.Accept()
	require.ErrorIs(t, err, netcode.ErrClosed)
	_, err = Dial(ctx, l.Addr().String(), Config{})
	require.ErrorIs(t, err, netcode.ErrHandshake)
	assert.Equal(t, netcode.CodeServerShutdown, netcode.CodeOf(err), "a closed listener rejects at once")

	cin := conntest.Pump(t, client)
	require.NoError(t, server.WriteMessage(netcode.Reliable, []byte("after close")))
	r := conntest.Recv(t, cin, 5*time.Second)
	require.NoError(t, r.Err)
	assert.Equal(t, "after close", string(r.Data))
	require.NoError(t, server.Close(netcode.CodeServerShutdown, "bye"))
	r = conntest.Recv(t, cin, 5*time.Second)
	var ce *netcode.CloseError
	require.ErrorAs(t, r.Err, &ce)
	assert.Equal(t, netcode.CodeServerShutdown, ce.Code)
	// The last session took the socket with it.
	require.Eventually(t, func() bool {
		select {
		case <-l.ep.done:
			return true
		default:
			return false
		}
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, l.Shutdown(context.Background()))
}
