package kcp

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/tickwire/tickwire/netcode/kcp/internal/loop"
)

// batchConn reads and writes several datagrams per system call (recvmmsg
// and sendmmsg on Linux; one at a time elsewhere).
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// Batch sizes, in datagrams per system call. A listener's socket carries
// every session's traffic; a dialed socket carries one session's, so it
// keeps its buffers small (they are allocated per client).
const (
	serverReadBatch = 64
	clientReadBatch = 8
)

// newBatchConn returns a batch view of a real UDP socket, or nil for any
// other PacketConn (an in-memory link), which is then read and written
// one datagram at a time.
func newBatchConn(pc net.PacketConn) batchConn {
	u, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	a, ok := u.LocalAddr().(*net.UDPAddr)
	if !ok {
		return nil
	}
	if a.IP.To4() != nil {
		return ipv4.NewPacketConn(u)
	}
	return ipv6.NewPacketConn(u)
}

// outbox collects one pass's outgoing datagrams (every session's, with
// their headers) and writes them with one sendmmsg. Its buffers come from
// an arena reused pass after pass. Owned by whoever holds the endpoint's
// lmu.
type outbox struct {
	pc    net.PacketConn
	bc    batchConn // nil: WriteTo one by one
	msgs  []ipv4.Message
	n     int
	arena loop.Arena
}

func newOutbox(pc net.PacketConn) outbox { return outbox{pc: pc, bc: newBatchConn(pc)} }

func (o *outbox) len() int { return o.n }

// alloc returns n bytes valid until the next write.
func (o *outbox) alloc(n int) []byte { return o.arena.Alloc(n) }

// add queues b (which must stay valid until write) to addr.
func (o *outbox) add(b []byte, addr net.Addr) {
	if o.n == len(o.msgs) {
		o.msgs = append(o.msgs, ipv4.Message{Buffers: make([][]byte, 1)})
	}
	m := &o.msgs[o.n]
	m.Buffers[0], m.Addr = b, addr
	o.n++
}

// write sends every queued datagram and empties the outbox; it returns
// the system calls it made. A datagram the kernel refuses is lost, as on
// the wire; the first error is returned after the rest were tried.
func (o *outbox) write() (calls int, first error) {
	msgs := o.msgs[:o.n]
	if o.bc != nil {
		for len(msgs) > 0 {
			calls++
			k, err := o.bc.WriteBatch(msgs, 0)
			if err != nil {
				if first == nil {
					first = err
				}
				k = max(k, 1) // skip the datagram that failed
			}
			msgs = msgs[k:]
		}
	} else {
		for i := range msgs {
			calls++
			if _, err := o.pc.WriteTo(msgs[i].Buffers[0], msgs[i].Addr); err != nil && first == nil {
				first = err
			}
		}
	}
	for i := range o.msgs[:o.n] {
		o.msgs[i].Buffers[0], o.msgs[i].Addr = nil, nil
	}
	o.n = 0
	o.arena.Reset()
	return calls, first
}
