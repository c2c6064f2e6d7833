package e2e

import (
	"encoding/binary"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// tapRelay is an attacker on the path between a KCP client and the
// server (a UDP relay on loopback): it forwards both ways and keeps the
// newest client datagram of each type it saw.
type tapRelay struct {
	front, up *net.UDPConn
	server    net.Addr
	wg        sync.WaitGroup

	mu     sync.Mutex // guards the fields below
	client net.Addr
	seen   map[byte][]byte // newest client datagram by type byte
	// What a plaintext session shows of the client's KCP state: its
	// conversation, newest PUSH sequence number and acknowledgement.
	kcpSeen       bool
	conv, sn, una uint32
}

// observeKCP reads the kcp-go segments of a client KCP datagram (conv 4,
// cmd 1, frg 1, wnd 2, ts 4, sn 4, una 4, len 4, data). Called with mu.
func (r *tapRelay) observeKCP(p []byte) {
	for len(p) >= 24 {
		n := int(binary.LittleEndian.Uint32(p[20:]))
		if n > len(p)-24 {
			return
		}
		if p[4] == 81 { // PUSH
			sn := binary.LittleEndian.Uint32(p[12:])
			if !r.kcpSeen || int32(sn-r.sn) > 0 {
				r.sn = sn
			}
			r.kcpSeen = true
			r.conv = binary.LittleEndian.Uint32(p)
			r.una = binary.LittleEndian.Uint32(p[16:])
		}
		p = p[24+n:]
	}
}

func newTapRelay(t *testing.T, server net.Addr) *tapRelay {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		return c
	}
	r := &tapRelay{front: listen(), up: listen(), server: server, seen: map[byte][]byte{}}
	r.wg.Add(2)
	go func() { // client -> server
		defer r.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, addr, err := r.front.ReadFrom(buf)
			if err != nil {
				return
			}
			b := slices.Clone(buf[:n])
			r.mu.Lock()
			r.client = addr
			if len(b) > 0 {
				r.seen[b[0]] = b
				if b[0] == 0x10 && len(b) > 13 {
					r.observeKCP(b[13:])
				}
			}
			r.mu.Unlock()
			_, _ = r.up.WriteTo(b, r.server) // lost, as on a real path
		}
	}()
	go func() { // server -> client
		defer r.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, _, err := r.up.ReadFrom(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			c := r.client
			r.mu.Unlock()
			if c != nil {
				_, _ = r.front.WriteTo(buf[:n], c) // lost, as on a real path
			}
		}
	}()
	t.Cleanup(func() {
		_ = r.front.Close() // closing ends the goroutines
		_ = r.up.Close()
		r.wg.Wait()
	})
	return r
}

// forgeDirectSend builds, from what the relay saw of the victim's
// datagrams, the datagram the attacker sent: the victim's token,
// a packet number ahead of the victim's, and a KCP PUSH segment with
// the next sequence number carrying a DirectSend frame. Against a
// plaintext session every field is read off the wire; against a sealed
// one the KCP fields are ciphertext, and nothing the attacker can write
// authenticates anyway.
func (r *tapRelay) forgeDirectSend(t *testing.T, to, body string) (dgram []byte, token uint64) {
	t.Helper()
	r.mu.Lock()
	seen := r.seen[0x10]
	conv, sn, una := r.conv, r.sn, r.una // garbage (ciphertext) when sealed
	r.mu.Unlock()
	require.NotNil(t, seen, "the relay saw the victim send data")
	token = binary.BigEndian.Uint64(seen[1:])
	pn := binary.BigEndian.Uint32(seen[9:]) + 1000
	f, err := frame.Marshal(&frame.DirectSend{Ref: 4242, ToUserID: to, Body: body})
	require.NoError(t, err)
	msg := binary.AppendUvarint(nil, uint64(len(f)))
	msg = append(msg, f...)
	d := make([]byte, 13, 13+24+len(msg))
	d[0] = 0x10
	binary.BigEndian.PutUint64(d[1:], token)
	binary.BigEndian.PutUint32(d[9:], pn)
	seg := make([]byte, 24)
	binary.LittleEndian.PutUint32(seg, conv)
	seg[4] = 81 // PUSH
	binary.LittleEndian.PutUint16(seg[6:], 256)
	binary.LittleEndian.PutUint32(seg[12:], sn+1)
	binary.LittleEndian.PutUint32(seg[16:], una)
	binary.LittleEndian.PutUint32(seg[20:], uint32(len(msg)))
	return append(append(d, seg...), msg...), token
}

// sendAsVictim sends b to the server from the victim's address.
func (r *tapRelay) sendAsVictim(t *testing.T, b []byte) {
	t.Helper()
	_, err := r.up.WriteTo(b, r.server)
	require.NoError(t, err)
}

func kcpStats(t *testing.T, srv *server.Server) netcode.ListenerStats {
	t.Helper()
	for _, ls := range srv.Engine().ServiceStats().Listeners {
		if ls.Transport == "kcp" {
			return ls
		}
	}
	require.FailNow(t, "no kcp listener stats")
	return netcode.ListenerStats{}
}

// TestForgedDirectMessageNotStored replays issue 12's attack through the
// whole server: an attacker on the path reads a user's session header
// and KCP state off the wire and sends, from the user's own address, one
// datagram carrying a DirectSend to the user's friend, then a Close.
// Against a plaintext session (benchmarks only) the server stores the
// forged message and ends the session: the attack is real, and this test
// can fail. Against the default sealed session both are dropped and
// counted as unauthenticated: nothing is stored, the session goes on.
func TestForgedDirectMessageNotStored(t *testing.T) {
	for _, plaintext := range []bool{true, false} {
		name := map[bool]string{true: "plaintext_is_forgeable", false: "sealed"}[plaintext]
		t.Run(name, func(t *testing.T) {
			srv := servertest.Start(t, server.Config{Transports: []netcode.Transport{
				&kcp.Transport{Addr: servertest.Loopback, Config: kcp.Config{AllowPlaintext: true}}}})
			ctx := ctxT(t)
			ua, err := client.Register(ctx, srv.HTTPURL(), "alice", "correct horse battery")
			require.NoError(t, err)
			ub, err := client.Register(ctx, srv.HTTPURL(), "bob", "correct horse battery")
			require.NoError(t, err)
			kaddr, err := net.ResolveUDPAddr("udp", srv.Addr("kcp"))
			require.NoError(t, err)
			relay := newTapRelay(t, kaddr)
			a, err := client.Dial(ctx, client.Options{Token: ua.Token,
				Dial: kcp.Dialer{Addr: relay.front.LocalAddr().String(), Config: kcp.Config{Plaintext: plaintext}}.Dial})
			require.NoError(t, err)
			t.Cleanup(func() { _ = a.Close() })
			b, err := client.Dial(ctx, client.Options{Token: ub.Token, Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial})
			require.NoError(t, err)
			t.Cleanup(func() { _ = b.Close() })
			require.NoError(t, a.RequestFriend(ctx, "bob"))
			require.NoError(t, b.AcceptFriend(ctx, ua.UserID))
			_, err = a.SendDirect(ctx, ub.UserID, "hello")
			require.NoError(t, err)

			forged, token := relay.forgeDirectSend(t, ub.UserID, "forged")
			closeMsg := make([]byte, 13, 32)
			closeMsg[0] = 0x12
			binary.BigEndian.PutUint64(closeMsg[1:], token)
			binary.BigEndian.PutUint32(closeMsg[9:], binary.BigEndian.Uint32(forged[9:])+1)
			closeMsg = append(closeMsg, 0x02, 0, 0, 0) // Close, code 0, no reason
			before := kcpStats(t, srv).Drops["unauthenticated"]
			relay.sendAsVictim(t, forged)

			history := func() []string {
				msgs, _, err := b.History(ctx, 0, ua.UserID, 0, 50)
				require.NoError(t, err)
				var bodies []string
				for _, m := range msgs {
					bodies = append(bodies, m.Body)
				}
				slices.Sort(bodies)
				return bodies
			}
			if plaintext {
				// Forged again from the newest state seen while it has not
				// landed (a ping of the victim may have taken the sequence
				// number the first forgery used).
				require.Eventually(t, func() bool {
					if slices.Contains(history(), "forged") {
						return true
					}
					again, _ := relay.forgeDirectSend(t, ub.UserID, "forged")
					relay.sendAsVictim(t, again)
					return false
				}, wait, 50*time.Millisecond, "without encryption the forged datagram stores a message (the issue's attack)")
				relay.sendAsVictim(t, closeMsg)
				require.Eventually(t, func() bool { return kcpStats(t, srv).Sessions == 1 }, wait, time.Millisecond,
					"a forged Close ends a plaintext session on the server")
				return
			}
			relay.sendAsVictim(t, closeMsg)
			require.Eventually(t, func() bool { return kcpStats(t, srv).Drops["unauthenticated"] >= before+2 }, wait, time.Millisecond,
				"both forgeries are dropped and counted")
			_, err = a.SendDirect(ctx, ub.UserID, "after")
			require.NoError(t, err, "the session survived the forged Close")
			assert.Equal(t, []string{"after", "hello"}, history(), "the forged message was not stored")
			assert.Equal(t, 2, kcpStats(t, srv).Sessions, "both sessions are open")
		})
	}
}
