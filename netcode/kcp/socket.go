package kcp

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/tickwire/tickwire/netcode"
)

// ClientSocket is one UDP socket, with one event loop, shared by many
// dialed sessions: the server tells them apart by their tokens, not by
// address. A load generator drives a thousand clients through a few of
// them (one read loop, one timer loop and batched system calls per
// socket instead of per client). A Conn dialed through it closes its
// session only; Close closes the socket and every session on it.
type ClientSocket struct{ ep *endpoint }

// NewClientSocket opens a UDP socket on an ephemeral port of the local
// address laddr ("127.0.0.1:0"; "" for any).
func NewClientSocket(laddr string, cfg Config) (*ClientSocket, error) {
	c, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	la := &net.UDPAddr{}
	if laddr != "" {
		if la, err = net.ResolveUDPAddr("udp", laddr); err != nil {
			return nil, fmt.Errorf("kcp: client socket %q: %w", laddr, err)
		}
	}
	pc, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("kcp: client socket %q: %w", laddr, err)
	}
	setBuffers(pc, c)
	e, err := newEndpoint(c, pc, newRegistry(c, roleClient))
	if err != nil {
		_ = pc.Close() // the config error is the one reported
		return nil, err
	}
	return &ClientSocket{ep: e}, nil
}

// Dial handshakes a new session with the listener at addr over the
// shared socket.
func (s *ClientSocket) Dial(ctx context.Context, addr string) (*Conn, error) {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("kcp: dial %q: %w", addr, err)
	}
	return dialOn(ctx, s.ep, ra)
}

// maxPreparedKeys bounds PrepareKeys.
const maxPreparedKeys = 1 << 16

// PrepareKeys makes n handshake keys ahead (n ≤ 65,536): the next n
// sealed dials on this socket use one each, once, instead of generating
// their ephemeral X25519 key during the handshake. For load generators:
// a connect storm then measures the server's handshakes, not the
// client's key generation (one X25519 of the two a client pays). Keys
// still unused when the socket closes are dropped.
func (s *ClientSocket) PrepareKeys(n int) error {
	if n < 0 || n > maxPreparedKeys {
		return fmt.Errorf("kcp: PrepareKeys(%d) outside 0..%d: %w", n, maxPreparedKeys, ErrConfig)
	}
	keys := make([]*ecdh.PrivateKey, 0, n)
	for range n {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("kcp: handshake key: %w", err)
		}
		keys = append(keys, k)
	}
	s.ep.mu.Lock()
	s.ep.keys = append(s.ep.keys, keys...)
	if len(s.ep.keys) > maxPreparedKeys {
		s.ep.keys = s.ep.keys[len(s.ep.keys)-maxPreparedKeys:]
	}
	s.ep.mu.Unlock()
	return nil
}

// Addr is the socket's local address.
func (s *ClientSocket) Addr() net.Addr { return s.ep.pc.LocalAddr() }

// Sessions is the number of sessions open on the socket.
func (s *ClientSocket) Sessions() int { return s.ep.sessionCount() }

// Close ends every session on the socket (telling each server), closes
// the socket and waits for its goroutines.
func (s *ClientSocket) Close() error {
	e := s.ep
	e.lmu.Lock()
	e.finishAllLocked(netcode.ErrClosed, &control{Type: ctlClose, Code: netcode.CodeOK, Reason: "client socket closed"})
	e.lmu.Unlock()
	e.deliver()
	e.shutdown()
	e.wait()
	return nil
}
