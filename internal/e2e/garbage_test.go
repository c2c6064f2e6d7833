package e2e

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// Bytes that are not the transport's framing at all reach the running
// server: an HTTP request on the TCP port is answered with a close record
// (frame_too_large: "GET " read as a length) and the connection ends; random
// datagrams on the KCP port create no session and get no reply larger than
// themselves. Sessions already open on both transports carry on.
func TestGarbageOnTheTransportPorts(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	kcpBystander := dial(t, srv, transportKCP, client.Options{})
	tcpBystander := dial(t, srv, transportTCP, client.Options{})
	open := srv.Engine().Stats().SessionsOpen

	t.Run("tcp", func(t *testing.T) {
		nc, err := net.Dial("tcp", srv.Addr("tcp"))
		require.NoError(t, err)
		defer nc.Close()
		_, err = nc.Write([]byte("GET / HTTP/1.1\r\nHost: tickwire\r\n\r\n"))
		require.NoError(t, err)
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(wait)))
		got, err := io.ReadAll(nc) // until the server closes
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(got), 7, "a close record: length, type 3, code")
		assert.Equal(t, byte(3), got[4], "record type close")
		assert.Equal(t, netcode.CodeFrameTooLarge, netcode.Code(binary.BigEndian.Uint16(got[5:7])))
		assert.EqualValues(t, len(got)-4, binary.BigEndian.Uint32(got[:4]), "one record, nothing else")
	})

	t.Run("kcp", func(t *testing.T) {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		defer pc.Close()
		raddr, err := net.ResolveUDPAddr("udp", srv.Addr("kcp"))
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 200; i++ {
			d := make([]byte, 1+rng.IntN(1400))
			for j := range d {
				d[j] = byte(rng.Uint32())
			}
			if i%4 == 0 {
				d[0] = byte(0x01 + i%0x12) // aim at the handshake and session types too
			}
			_, err := pc.WriteToUDP(d, raddr)
			require.NoError(t, err)
			require.NoError(t, pc.SetReadDeadline(time.Now().Add(5*time.Millisecond)))
			buf := make([]byte, 2048)
			for {
				n, _, err := pc.ReadFromUDP(buf)
				if err != nil {
					break // quiet: the usual answer
				}
				assert.LessOrEqual(t, n, len(d), "reply larger than the datagram that caused it")
			}
		}
	})

	// The TCP connection became a session that ended at its first record.
	require.Eventually(t, func() bool { return srv.Engine().Stats().SessionsOpen == open }, wait, time.Millisecond,
		"no session created or lost")
	echoRoundTrip(t, kcpBystander, netcode.Reliable, 1)
	echoRoundTrip(t, kcpBystander, netcode.Unreliable, 2)
	echoRoundTrip(t, tcpBystander, netcode.Reliable, 3)
}
