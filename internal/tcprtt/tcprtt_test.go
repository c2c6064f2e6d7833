package tcprtt

import (
	"crypto/tls"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOfLoopback reads a positive RTT from a real loopback TCP
// connection, plain and under TLS, and 0 from a non-TCP conn.
func TestOfLoopback(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Log("TCP_INFO is read on Linux only; checking the zero answer")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	s := <-accepted
	defer s.Close()
	// An exchange makes the kernel take an RTT sample from data and ACKs.
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = s.Read(buf)
	require.NoError(t, err)
	_, err = s.Write(buf)
	require.NoError(t, err)
	_, err = c.Read(buf)
	require.NoError(t, err)

	if runtime.GOOS != "linux" {
		require.Zero(t, Of(c))
		return
	}
	rtt := Of(c)
	require.Positive(t, rtt, "a loopback TCP connection has a kernel RTT")
	require.Less(t, rtt, time.Second)

	// A *tls.Conn is unwrapped to its socket (no handshake needed).
	require.Positive(t, Of(tls.Client(c, &tls.Config{ServerName: "localhost"})))

	// Not a TCP socket: 0.
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	require.Zero(t, Of(p1))
}
