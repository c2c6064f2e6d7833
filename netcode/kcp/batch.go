package kcp

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchConn reads several datagrams per system call (recvmmsg on Linux;
// one at a time elsewhere). Writes stay one sendto per datagram: a
// listener-wide sendmmsg writer was measured (docs/KCP.md, Hot path) and
// used more server CPU, not less.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
}

// Batch sizes, in datagrams per system call. A listener's socket carries
// every session's traffic; a dialed socket carries one session's, so it
// keeps its buffers small (they are allocated per client).
const (
	serverReadBatch = 64
	clientReadBatch = 8
)

// newBatchConn returns a batch view of a real UDP socket, or nil for any
// other PacketConn (an in-memory link), which is then read one datagram
// at a time.
func newBatchConn(pc net.PacketConn) batchConn {
	u, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	if _, ok := u.LocalAddr().(*net.UDPAddr); !ok {
		return nil
	}
	if a := u.LocalAddr().(*net.UDPAddr); a.IP.To4() != nil {
		return ipv4.NewPacketConn(u)
	}
	return ipv6.NewPacketConn(u)
}
