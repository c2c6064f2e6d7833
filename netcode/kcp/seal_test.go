package kcp

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// relay is a UDP relay on loopback between a client and a listener, the
// attacker on the path and the NAT of the tests: the client talks to its
// front socket; it forwards to the server from an upstream socket whose
// source port changes on rebind (a NAT rebinding). tap sees every
// client-to-server datagram and may swallow it.
type relay struct {
	front  *net.UDPConn
	server net.Addr
	wg     sync.WaitGroup

	mu     sync.Mutex // guards the fields below
	up     *net.UDPConn
	client net.Addr
	tap    func(b []byte) (forward bool)
}

func newRelay(t *testing.T, server net.Addr) *relay {
	t.Helper()
	r := &relay{front: rawSocket(t), server: server, up: rawSocket(t)}
	r.wg.Add(2)
	go r.fromClient()
	go r.fromServer(r.up)
	t.Cleanup(func() {
		_ = r.front.Close() // closing ends the relay's goroutines
		r.mu.Lock()
		_ = r.up.Close()
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *relay) addr() string { return r.front.LocalAddr().String() }

// upAddr is the address the server sees the client at.
func (r *relay) upAddr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up.LocalAddr()
}

func (r *relay) setTap(f func(b []byte) bool) {
	r.mu.Lock()
	r.tap = f
	r.mu.Unlock()
}

func (r *relay) fromClient() {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, addr, err := r.front.ReadFrom(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		r.client = addr
		up, tap := r.up, r.tap
		r.mu.Unlock()
		if tap != nil && !tap(b) {
			continue
		}
		_, _ = up.WriteTo(b, r.server) // a write on a socket being replaced is a lost datagram
	}
}

func (r *relay) fromServer(up *net.UDPConn) {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, _, err := up.ReadFrom(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		client := r.client
		r.mu.Unlock()
		if client != nil {
			_, _ = r.front.WriteTo(buf[:n], client) // lost, as on a real path
		}
	}
}

// sendUp sends b to the server from the client's current address.
func (r *relay) sendUp(t *testing.T, b []byte) {
	t.Helper()
	r.mu.Lock()
	up := r.up
	r.mu.Unlock()
	_, err := up.WriteTo(b, r.server)
	require.NoError(t, err)
}

// rebind moves the client's traffic to a new upstream socket (a new
// source port), as a NAT that forgot the mapping.
func (r *relay) rebind(t *testing.T) {
	t.Helper()
	nu, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	r.mu.Lock()
	old := r.up
	r.up = nu
	r.mu.Unlock()
	_ = old.Close() // its reader ends
	r.wg.Add(1)
	go r.fromServer(nu)
}

// sealedSession dials l through a relay and returns both ends, the
// server's pumped messages and the client's.
func sealedSession(t *testing.T, l *Listener, cfg Config) (r *relay, client, server *Conn, cin, sin <-chan conntest.Msg) {
	t.Helper()
	r = newRelay(t, l.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := Dial(ctx, r.addr(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close(netcode.CodeOK, "") })
	server, err = l.AcceptKCP()
	require.NoError(t, err)
	require.True(t, client.Sealed())
	require.True(t, server.Sealed())
	return r, client, server, conntest.Pump(t, client), conntest.Pump(t, server)
}

func listen(t *testing.T, cfg Config) *Listener {
	t.Helper()
	l, err := Listen("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	return l
}

func recvString(t *testing.T, ch <-chan conntest.Msg) string {
	t.Helper()
	r := conntest.Recv(t, ch, 5*time.Second)
	require.NoError(t, r.Err)
	return string(r.Data)
}

func drops(l *Listener, r netcode.DropReason) uint64 { return l.Stats().Drops[r] }

// kcpPush builds a kcp-go packet of one PUSH segment carrying data.
func kcpPush(conv, sn uint32, data []byte) []byte {
	p := make([]byte, kcpOverhead, kcpOverhead+len(data))
	binary.LittleEndian.PutUint32(p, conv)
	p[4] = kcpCmdPush
	binary.LittleEndian.PutUint16(p[6:], 256)
	binary.LittleEndian.PutUint32(p[12:], sn)
	binary.LittleEndian.PutUint32(p[20:], uint32(len(data)))
	return append(p, data...)
}

// TestForgedDatagramsAreDropped is the attack at the transport:
// datagrams that carry the victim's real session header (its token, a
// packet number newer than any) but are not sealed with its key — a KCP
// data packet with a valid reliable message, an unreliable message, a
// Close — sent from the victim's own address and from another one, are
// dropped and counted, never answered, and change nothing: nothing is
// delivered, the session stays open at its address, its idle timer is
// not refreshed.
func TestForgedDatagramsAreDropped(t *testing.T) {
	l := listen(t, Config{})
	r, client, server, cin, sin := sealedSession(t, l, Config{})
	require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("hello")))
	require.Equal(t, "hello", recvString(t, sin))
	// The client's own path goes dark, so that only forgeries arrive.
	r.setTap(func([]byte) bool { return false })

	msg := append(appendPrefix(nil, 6), "forged"...)
	forged := map[string][]byte{}
	hdr := func(typ byte) []byte {
		b := make([]byte, sessionHeaderSize)
		putSessionHeader(b, sessionHeader{Type: typ, Token: server.token, PN: 1 << 20})
		return b
	}
	forged["kcp"] = append(hdr(typeKCP), kcpPush(server.conv, 1, msg)...)
	forged["unreliable"] = append(hdr(typeUnreliable), 0, 0, 1, 0, 'f', 'o', 'r', 'g', 'e', 'd')
	forged["close"] = appendControl(hdr(typeControl), control{Type: ctlClose, Code: netcode.CodeOK, Reason: "forged"})
	for name, b := range forged { // the same, with a tag of random bytes
		forged[name+"_tagged"] = append(append([]byte(nil), b...), randomBytes(tagSize)...)
	}
	attacker := rawSocket(t)
	server.ep.lmu.Lock()
	lastRecv := server.lastRecv
	server.ep.lmu.Unlock()
	before := drops(l, netcode.DropUnauthenticated)
	for _, b := range forged {
		r.sendUp(t, b) // from the victim's address
		_, err := attacker.WriteTo(b, l.Addr())
		require.NoError(t, err)
	}
	want := before + uint64(2*len(forged))
	require.Eventually(t, func() bool { return drops(l, netcode.DropUnauthenticated) >= want }, 5*time.Second, time.Millisecond,
		"every forged datagram is counted as unauthenticated")
	assert.Equal(t, want, drops(l, netcode.DropUnauthenticated))
	assert.Equal(t, uint64(2*len(forged)), server.Stats().Drops[netcode.DropUnauthenticated])
	assert.Empty(t, replies(t, attacker, 50*time.Millisecond), "a forged datagram is never answered")

	server.ep.lmu.Lock()
	assert.Equal(t, lastRecv, server.lastRecv, "a forged datagram does not refresh the idle timer")
	assert.False(t, server.ended, "a forged Close closes nothing")
	server.ep.lmu.Unlock()
	assert.Equal(t, r.upAddr().String(), server.RemoteAddr().String(), "a forged datagram moves nothing")
	assert.Zero(t, server.Migrations())
	// The next message the server gets is the client's, not a forgery.
	r.setTap(nil)
	require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("real")))
	require.Equal(t, "real", recvString(t, sin))
	require.NoError(t, server.WriteMessage(netcode.Reliable, []byte("still open")))
	require.Equal(t, "still open", recvString(t, cin))
}

// TestReplayedAndTamperedDatagrams: a captured sealed datagram sent
// again (from the client's address or another) is dropped as replayed
// and not delivered twice; a datagram with any byte changed fails
// authentication, and does not use up its packet number (the untouched
// original still goes through after it).
func TestReplayedAndTamperedDatagrams(t *testing.T) {
	l := listen(t, Config{})
	r, client, server, _, sin := sealedSession(t, l, Config{})
	var mu sync.Mutex
	var held [][]byte
	swallow := false
	r.setTap(func(b []byte) bool {
		if b[0] != typeUnreliable {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		held = append(held, b)
		return !swallow
	})
	require.NoError(t, client.WriteMessage(netcode.Unreliable, []byte("once")))
	require.Equal(t, "once", recvString(t, sin))
	mu.Lock()
	require.Len(t, held, 1)
	captured := held[0]
	held = nil
	mu.Unlock()
	assert.NotContains(t, string(captured), "once", "the payload travels encrypted")

	before := drops(l, netcode.DropReplayed)
	r.sendUp(t, captured)
	_, err := rawSocket(t).WriteTo(captured, l.Addr())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return drops(l, netcode.DropReplayed) == before+2 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, uint64(2), server.Stats().Drops[netcode.DropReplayed])
	assert.Zero(t, server.Migrations(), "a replay from another address moves nothing")

	// Tampering: the next datagram is held back and sent altered.
	mu.Lock()
	swallow = true
	mu.Unlock()
	require.NoError(t, client.WriteMessage(netcode.Unreliable, []byte("intact")))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(held) == 1 }, 5*time.Second, time.Millisecond)
	mu.Lock()
	orig := held[0]
	mu.Unlock()
	unauth := drops(l, netcode.DropUnauthenticated)
	for _, i := range []int{0, 5, 12, sessionHeaderSize, len(orig) - tagSize - 1, len(orig) - 1} {
		b := append([]byte(nil), orig...)
		b[i] ^= 0x40
		r.sendUp(t, b)
	}
	r.sendUp(t, orig[:len(orig)-1]) // a cut tag
	require.Eventually(t, func() bool { return drops(l, netcode.DropUnauthenticated)+drops(l, netcode.DropMalformed) >= unauth+7 }, 5*time.Second, time.Millisecond)
	r.sendUp(t, orig)
	require.Equal(t, "intact", recvString(t, sin), "the original still opens after the tampered copies")
	require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("after")))
	mu.Lock()
	swallow = false
	mu.Unlock()
	require.Equal(t, "after", recvString(t, sin), "nothing was delivered twice")
}

// TestNATRebinding: the client's address changes mid-session (the relay
// takes a new source port); its first sealed datagram from there moves
// the session, the server answers at the new address, and the session
// goes on. A forged datagram, or a replayed one, from yet another
// address moves nothing.
func TestNATRebinding(t *testing.T) {
	for _, loops := range []int{1, 4} {
		t.Run(map[int]string{1: "one_loop", 4: "four_loops"}[loops], func(t *testing.T) {
			l := listen(t, Config{Loops: loops})
			r, client, server, cin, sin := sealedSession(t, l, Config{})
			var last []byte
			var mu sync.Mutex
			r.setTap(func(b []byte) bool { mu.Lock(); last = b; mu.Unlock(); return true })
			require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("before")))
			require.Equal(t, "before", recvString(t, sin))
			// Several moves: with four loops the kernel hashes some of the
			// new addresses to other loops' sockets.
			for i := range 6 {
				r.rebind(t)
				require.NoError(t, client.WriteMessage(netcode.Reliable, []byte{'m', byte(i)}))
				require.Equal(t, string([]byte{'m', byte(i)}), recvString(t, sin))
				require.Equal(t, r.upAddr().String(), server.RemoteAddr().String(), "the session moved")
				require.NoError(t, server.WriteMessage(netcode.Reliable, []byte{'r', byte(i)}))
				require.Equal(t, string([]byte{'r', byte(i)}), recvString(t, cin), "the server answers at the new address")
			}
			if loops > 1 {
				// Until the kernel has put one of the client's addresses on
				// another loop's socket: that loop hands the datagrams over.
				for i := 6; l.ListenerStats().IO["handoffs"] == 0; i++ {
					require.Less(t, i, 64, "64 addresses, all on the session's own loop")
					r.rebind(t)
					require.NoError(t, client.WriteMessage(netcode.Reliable, []byte{'m', byte(i)}))
					require.Equal(t, string([]byte{'m', byte(i)}), recvString(t, sin))
					require.NoError(t, server.WriteMessage(netcode.Reliable, []byte{'r', byte(i)}))
					require.Equal(t, string([]byte{'r', byte(i)}), recvString(t, cin))
				}
			}
			moves := server.Migrations()
			assert.GreaterOrEqual(t, moves, uint64(6))
			assert.Equal(t, moves, l.ListenerStats().IO["migrations"])

			// A forged datagram with the session's header from a new
			// address, and a replay of a captured one: no move.
			mu.Lock()
			captured := last
			mu.Unlock()
			r.setTap(nil)
			// The captured datagram may still be between the tap and the
			// server (its replay, first, would carry the newest packet
			// number: the on-path race docs/KCP.md describes). A message
			// sent after it from the same address reaches the same socket
			// after it: once that is in, so is the captured one.
			require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("sync")))
			require.Equal(t, "sync", recvString(t, sin))
			at := server.RemoteAddr().String()
			forged := make([]byte, sessionHeaderSize, sessionHeaderSize+64)
			putSessionHeader(forged, sessionHeader{Type: typeKCP, Token: server.token, PN: 1 << 24})
			forged = append(forged, randomBytes(40)...)
			attacker := rawSocket(t)
			bad := drops(l, netcode.DropUnauthenticated) + drops(l, netcode.DropReplayed)
			for _, b := range [][]byte{forged, captured} {
				_, err := attacker.WriteTo(b, l.Addr())
				require.NoError(t, err)
			}
			require.Eventually(t, func() bool {
				return drops(l, netcode.DropUnauthenticated)+drops(l, netcode.DropReplayed) >= bad+2
			}, 5*time.Second, time.Millisecond)
			assert.Equal(t, at, server.RemoteAddr().String())
			assert.Equal(t, moves, server.Migrations())
			require.NoError(t, server.WriteMessage(netcode.Reliable, []byte("still here")))
			require.Equal(t, "still here", recvString(t, cin))
		})
	}
}

// handClient plays a client's handshake by hand.
type handClient struct {
	t     *testing.T
	pc    *net.UDPConn
	l     *Listener
	nonce [8]byte
	eph   *ecdh.PrivateKey
	mode  byte
}

func newHandClient(t *testing.T, l *Listener, mode byte) *handClient {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	h := &handClient{t: t, pc: rawSocket(t), l: l, eph: k, mode: mode}
	_, _ = rand.Read(h.nonce[:])
	return h
}

func (h *handClient) pub() (p [pubSize]byte) {
	if h.mode == modeSealed {
		copy(p[:], h.eph.PublicKey().Bytes())
	}
	return p
}

// exchange sends hs and returns its reply, raw (the first handshake
// datagram that comes back; session datagrams of an earlier Accept are
// skipped).
func (h *handClient) exchange(hs handshake) (sent, reply []byte) {
	h.t.Helper()
	sent = appendHandshake(nil, hs)
	_, err := h.pc.WriteTo(sent, h.l.Addr())
	require.NoError(h.t, err)
	reply = h.next(func(b []byte) bool { return isHandshake(b[0]) })
	assert.LessOrEqual(h.t, len(reply), len(sent), "no reply larger than its request")
	return sent, reply
}

// next returns the first datagram that arrives and matches (5 s at most).
func (h *handClient) next(match func([]byte) bool) []byte {
	h.t.Helper()
	buf := make([]byte, maxDatagram)
	require.NoError(h.t, h.pc.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		n, _, err := h.pc.ReadFrom(buf)
		require.NoError(h.t, err)
		if n > 0 && match(buf[:n]) {
			return append([]byte(nil), buf[:n]...)
		}
	}
}

func (h *handClient) hello() handshake {
	h.t.Helper()
	_, b := h.exchange(handshake{Type: typeHello, Nonce: h.nonce, Mode: h.mode, Pub: h.pub()})
	ck, err := decodeHandshake(b)
	require.NoError(h.t, err)
	return ck
}

func (h *handClient) connect(ck handshake) []byte {
	h.t.Helper()
	sent, b := h.exchange(handshake{Type: typeConnect, Nonce: h.nonce, Bucket: ck.Bucket, MAC: ck.MAC, Mode: h.mode, Pub: h.pub()})
	require.Len(h.t, sent, connectSize)
	return b
}

// TestSealedHandshakeByHand: the Cookie names the server's key and is no
// larger than the Hello; the Accept is sealed with the key agreed with
// it (only the holder of the server's private key could make it), no
// larger than the Connect, and a repeated Connect gets the very same
// bytes; a Reject after the cookie is sealed too; a plaintext Hello is
// refused with a clear coded Reject; a cookie stolen by another address
// does not verify.
func TestSealedHandshakeByHand(t *testing.T) {
	l := listen(t, Config{MaxSessions: 1})
	hc := newHandClient(t, l, modeSealed)
	ck := hc.hello()
	require.Equal(t, byte(typeCookie), ck.Type)
	assert.Equal(t, l.PublicKey().Bytes(), ck.Pub[:], "the Cookie carries the server's static key")

	sc, hk, err := agree(hc.eph, l.PublicKey().Bytes(), hc.nonce, true, 0)
	require.NoError(t, err)
	a1 := hc.connect(ck)
	require.Len(t, a1, acceptSealedSize)
	a2 := hc.connect(ck)
	assert.Equal(t, a1, a2, "a repeated Connect (our Accept was lost) gets the same Accept")
	assert.Equal(t, 1, l.SessionCount())
	acc, err := decodeHandshake(a1)
	require.NoError(t, err)
	require.True(t, acc.Sealed)
	other, err := GenerateKey()
	require.NoError(t, err)
	_, wrong, err := agree(hc.eph, other.PublicKey().Bytes(), hc.nonce, true, 0)
	require.NoError(t, err)
	assert.False(t, openHandshake(&acc, append([]byte(nil), a1...), wrong), "an Accept opens only with the agreed key")
	require.True(t, openHandshake(&acc, append([]byte(nil), a1...), hk))
	l.ep.mu.Lock()
	server := l.ep.byToken[acc.Token]
	l.ep.mu.Unlock()
	require.NotNil(t, server, "the token came inside the sealed Accept")
	assert.NotContains(t, string(a1), string(binary.BigEndian.AppendUint64(nil, acc.Token)), "the token never travels in clear in the handshake")

	// The client's keys open what the server's session seals.
	require.NoError(t, server.WriteMessage(netcode.Unreliable, []byte("sealed")))
	hc.next(func(b []byte) bool {
		hdr, _, err := decodeSessionHeader(b)
		require.NoError(t, err, "only session datagrams follow the Accept")
		p, ok, _ := sc.open(hdr.PN, b)
		require.True(t, ok, "every session datagram opens with the agreed key")
		sc.accept(hdr.PN)
		return hdr.Type == typeUnreliable && bytes.HasSuffix(p, []byte("sealed"))
	})

	// A cookie stolen by another address: silence.
	thief := rawSocket(t)
	_, err = thief.WriteTo(appendHandshake(nil, handshake{Type: typeConnect, Nonce: hc.nonce, Bucket: ck.Bucket, MAC: ck.MAC, Pub: hc.pub()}), l.Addr())
	require.NoError(t, err)
	assert.Empty(t, replies(t, thief, 50*time.Millisecond))

	// The listener is full: a sealed Reject, code in clear but authenticated.
	hc2 := newHandClient(t, l, modeSealed)
	rj := hc2.connect(hc2.hello())
	require.Len(t, rj, rejectSealedSize)
	rh, err := decodeHandshake(rj)
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeRateLimited, rh.Code)
	_, hk2, err := agree(hc2.eph, l.PublicKey().Bytes(), hc2.nonce, true, 0)
	require.NoError(t, err)
	assert.True(t, openHandshake(&rh, rj, hk2))
	forgedCode := append([]byte(nil), rj...)
	binary.BigEndian.PutUint16(forgedCode[hsPrefix:], uint16(netcode.CodeServerShutdown))
	fh, err := decodeHandshake(forgedCode)
	require.NoError(t, err)
	assert.False(t, openHandshake(&fh, forgedCode, hk2), "the code is authenticated")

	// Plaintext is refused by default, in a 12-byte coded Reject.
	hp := newHandClient(t, l, modePlaintext)
	_, b := hp.exchange(handshake{Type: typeHello, Nonce: hp.nonce, Mode: modePlaintext})
	require.Len(t, b, rejectSize)
	ph, err := decodeHandshake(b)
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeUnsupported, ph.Code)
	assert.Equal(t, uint64(1), l.ListenerStats().Refused["plaintext"])
}

// TestPlaintextOnlyWhenBothAsk: a Dial that asks for plaintext is
// refused (CodeUnsupported) unless the listener allows it; then its
// session is unsealed, and a sealed Dial to the same listener is still
// sealed.
func TestPlaintextOnlyWhenBothAsk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	strict := listen(t, Config{})
	_, err := Dial(ctx, strict.Addr().String(), Config{Plaintext: true})
	require.ErrorIs(t, err, netcode.ErrHandshake)
	assert.Equal(t, netcode.CodeUnsupported, netcode.CodeOf(err))

	lax := listen(t, Config{AllowPlaintext: true})
	pc, err := Dial(ctx, lax.Addr().String(), Config{Plaintext: true})
	require.NoError(t, err)
	defer pc.Close(netcode.CodeOK, "")
	ps, err := lax.AcceptKCP()
	require.NoError(t, err)
	assert.False(t, pc.Sealed())
	assert.False(t, ps.Sealed())
	sc, err := Dial(ctx, lax.Addr().String(), Config{})
	require.NoError(t, err)
	defer sc.Close(netcode.CodeOK, "")
	assert.True(t, sc.Sealed())
	sin := conntest.Pump(t, ps)
	require.NoError(t, pc.WriteMessage(netcode.Reliable, []byte("clear")))
	require.Equal(t, "clear", recvString(t, sin))
}

// TestPinnedServerKey: a client that pins the server's key completes
// the handshake; one that pins another key cannot (the Accept does not
// open), whatever key the Cookie names.
func TestPinnedServerKey(t *testing.T) {
	l := listen(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pub, err := ParsePublicKey(EncodePublicKey(l.PublicKey()))
	require.NoError(t, err)
	c, err := Dial(ctx, l.Addr().String(), Config{ServerKey: pub})
	require.NoError(t, err)
	require.NoError(t, c.Close(netcode.CodeOK, ""))

	other, err := GenerateKey()
	require.NoError(t, err)
	_, err = Dial(ctx, l.Addr().String(), Config{ServerKey: other.PublicKey(), HandshakeTimeout: 500 * time.Millisecond})
	require.ErrorIs(t, err, netcode.ErrHandshake)
	_, err = Dial(ctx, l.Addr().String(), Config{ServerKey: pub, Plaintext: true})
	require.ErrorIs(t, err, ErrConfig)
}

// TestKeyRotation: with a key sealing 2^3 datagrams, a session crosses
// dozens of key generations each way, with reordering-free loss-free
// loopback traffic in both channels, and keeps working.
func TestKeyRotation(t *testing.T) {
	cfg := Config{rekeyShift: 3}
	l := listen(t, cfg)
	_, client, server, cin, sin := sealedSession(t, l, cfg)
	for i := range 200 {
		require.NoError(t, client.WriteMessage(netcode.Reliable, []byte{byte(i)}))
		require.Equal(t, string([]byte{byte(i)}), recvString(t, sin))
		require.NoError(t, server.WriteMessage(netcode.Reliable, []byte{byte(i)}))
		require.Equal(t, string([]byte{byte(i)}), recvString(t, cin))
	}
	require.NoError(t, client.WriteMessage(netcode.Unreliable, []byte("late")))
	require.Equal(t, "late", recvString(t, sin))
	server.ep.lmu.Lock()
	txGen, rxGen := server.sc.tx.gen, server.sc.rx.gen
	server.ep.lmu.Unlock()
	assert.Greater(t, txGen, uint32(20), "the server's key changed every 8 datagrams")
	assert.Greater(t, rxGen, uint32(20))
}

// TestPacketNumbersNeverWrap: a sealed session that reaches pnCloseAt
// closes (CodeInternal) instead of reusing a packet number under its
// key, and past pnLast nothing more is sealed.
func TestPacketNumbersNeverWrap(t *testing.T) {
	cfg := Config{HeartbeatInterval: 50 * time.Millisecond, IdleTimeout: 10 * time.Second}
	l := listen(t, cfg)
	_, _, server, _, sin := sealedSession(t, l, cfg)
	server.ep.lmu.Lock()
	server.pn = pnCloseAt
	server.ep.lmu.Unlock()
	start := time.Now()
	r := conntest.Recv(t, sin, 5*time.Second)
	require.Error(t, r.Err)
	assert.Less(t, time.Since(start), 2*time.Second, "at the next tick, not an idle timeout")
	assert.Equal(t, netcode.CodeInternal, netcode.CodeOf(r.Err), "closed before its packet numbers could wrap")
	assert.Contains(t, r.Err.Error(), "packet numbers exhausted")

	c := &Conn{ep: l.ep, sc: server.sc, pn: pnLast}
	l.ep.lmu.Lock()
	n := l.ep.out.len()
	c.stageLocked(time.Now(), typeControl, c.allocLocked(sessionHeaderSize))
	assert.Equal(t, n, l.ep.out.len(), "nothing is sealed past pnLast")
	l.ep.lmu.Unlock()
	assert.Equal(t, uint64(1), c.drops[netcode.DropClosed].Load())
}

func TestReplayWindow(t *testing.T) {
	var r replay
	for _, pn := range []uint32{0, 1, 5, 3} {
		require.True(t, r.fresh(pn))
		r.mark(pn)
		require.False(t, r.fresh(pn), "pn %d twice", pn)
	}
	assert.True(t, r.fresh(2), "a late datagram inside the window")
	assert.True(t, r.fresh(4))
	require.True(t, r.mark(5000))
	assert.False(t, r.fresh(5000-replayWindow), "older than the window")
	assert.True(t, r.fresh(5000-replayWindow+1))
	assert.False(t, r.fresh(5), "forgotten, but too old")
	assert.False(t, r.mark(4990))
	assert.False(t, r.fresh(4990))
	assert.True(t, r.fresh(4991))
}

func TestKeyFile(t *testing.T) {
	path := t.TempDir() + "/sub/kcp.key"
	k1, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	k2, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	assert.True(t, k1.Equal(k2), "the same key across restarts")
	require.NoError(t, os.Chmod(path, 0o644))
	_, err = LoadOrCreateKeyFile(path)
	require.ErrorIs(t, err, ErrConfig, "a key others can read is refused")
	_, err = ParsePublicKey("not a key")
	require.ErrorIs(t, err, ErrConfig)
}

// TestClientRefusesUnsealedAccept: a sealed Dial answered by something
// that cannot seal (an attacker that forged the Cookie and a clear
// Accept) gets no session; its Dial times out.
func TestClientRefusesUnsealedAccept(t *testing.T) {
	fake := rawSocket(t)
	key, err := GenerateKey()
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { // the fake server: a Cookie for every Hello, a clear Accept for every Connect
		defer close(done)
		buf := make([]byte, maxDatagram)
		for {
			n, addr, err := fake.ReadFrom(buf)
			if err != nil {
				return
			}
			h, err := decodeHandshake(buf[:n])
			if err != nil {
				continue
			}
			var reply []byte
			switch h.Type {
			case typeHello:
				ck := handshake{Type: typeCookie, Nonce: h.Nonce, Bucket: 1}
				copy(ck.Pub[:], key.PublicKey().Bytes())
				reply = appendHandshake(nil, ck)
			case typeConnect:
				reply = appendHandshake(nil, handshake{Type: typeAccept, Nonce: h.Nonce, Conv: 1, Token: 2})
			}
			_, _ = fake.WriteTo(reply, addr) // lost replies make the Dial retry
		}
	}()
	_, err = Dial(context.Background(), fake.LocalAddr().String(), Config{HandshakeTimeout: 500 * time.Millisecond})
	require.ErrorIs(t, err, netcode.ErrHandshake)
	require.NoError(t, fake.Close())
	<-done
}

// TestExpanderIsHKDF: the keys the handshake derives with one keyed HMAC
// are HKDF-Expand's (PROTOCOL.md §2.1, "Keys"): the same AEAD output as
// keys derived by crypto/hkdf, for the handshake key and every direction
// and generation.
func TestExpanderIsHKDF(t *testing.T) {
	prk := make([]byte, 32)
	_, _ = rand.Read(prk)
	x := newExpander(prk)
	ref := func(info string) []byte {
		k, err := hkdf.Expand(sha256.New, prk, info, keySize)
		require.NoError(t, err)
		a, err := newAEAD(k)
		require.NoError(t, err)
		return a.Seal(nil, make([]byte, 12), []byte("plaintext"), nil)
	}
	hk, err := x.handshakeKey()
	require.NoError(t, err)
	assert.Equal(t, ref("tickwire/kcp/v2 handshake"), hk.Seal(nil, make([]byte, 12), []byte("plaintext"), nil))
	for _, dir := range []string{dirC2S, dirS2C} {
		for _, gen := range []uint32{0, 1, 2, 1 << 20} {
			k, err := x.sessionKey(dir, gen)
			require.NoError(t, err)
			g := binary.BigEndian.AppendUint32(nil, gen)
			assert.Equal(t, ref("tickwire/kcp/v2 "+dir+string(g)), k.Seal(nil, make([]byte, 12), []byte("plaintext"), nil), "%s %d", dir, gen)
		}
	}
}

// TestNextKeysDerivedWhenNeeded: a handshake derives only generation 0's
// keys; the sender derives the next one once its packet numbers reach
// the second half of a generation, the receiver when the next
// generation's first datagram arrives, once, forged or not.
func TestNextKeysDerivedWhenNeeded(t *testing.T) {
	prk := make([]byte, 32)
	_, _ = rand.Read(prk)
	tx, err := newSessionCrypto(prk, true, 4) // 16 datagrams a generation
	require.NoError(t, err)
	rx, err := newSessionCrypto(prk, false, 4)
	require.NoError(t, err)
	assert.Nil(t, tx.tx.next)
	assert.Nil(t, rx.rx.next)
	datagram := func(pn uint32) []byte {
		b := make([]byte, sessionHeaderSize+4, sessionHeaderSize+4+tagSize)
		putSessionHeader(b, sessionHeader{Type: typeKCP, Token: 1, PN: pn})
		return tx.seal(pn, b)
	}
	for pn := range uint32(8) {
		rx.open(pn, datagram(pn))
		assert.Nil(t, tx.tx.next, "pn %d: first half", pn)
	}
	datagram(8)
	require.NotNil(t, tx.tx.next, "the second half derives the next key")
	assert.Nil(t, rx.rx.next, "the receiver waits for the next generation")

	real := datagram(16)
	forged := bytes.Clone(real)
	forged[len(forged)-1] ^= 1
	_, ok, _ := rx.open(16, forged)
	require.False(t, ok)
	next := rx.rx.next
	require.NotNil(t, next, "derived for the next generation's first datagram")
	_, ok, _ = rx.open(16, real)
	require.True(t, ok, "the next generation's datagram opens")
	rx.accept(16)
	assert.Same(t, next, rx.rx.cur, "derived once, then moved on")
	assert.Equal(t, uint32(1), rx.rx.gen)
	assert.Nil(t, rx.rx.next)
}
