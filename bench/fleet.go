package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tickwire/tickwire/netcode"
)

// DefaultSessionsPerSocket is how many of a room run's sessions share one
// client socket and its event loop, on a transport that has them.
const DefaultSessionsPerSocket = 64

// A fleet dials the many sessions of a room run. Sessions of one flush
// group share a client socket and its event loop where the transport
// has them (KCP with a shared client socket), so that the generator
// reads their datagrams in batches and flushes a group's queued inputs
// with one batched system call; elsewhere every session is a group of
// its own. Session i belongs to group i/perSocket: consecutive sessions,
// which are the members of one room, share a socket.
type fleet struct {
	perSocket int
	open      func() (clientSocket, error)
	// shared: sessions share client sockets whose sessions may be closed
	// from the socket's own event loop (a kcp.ClientSocket).
	shared bool

	mu      sync.Mutex     // guards sockets
	sockets []clientSocket // by group, opened on first use
}

// clientSocket dials sessions: a client socket that many sessions share,
// or, on a transport without one, a socket per session (close does
// nothing: each session closes its own).
type clientSocket interface {
	dial(ctx context.Context, token string) (netcode.Conn, error)
	close() error
}

// soloFleet is the fleet of a transport whose sessions have a socket each.
func soloFleet(dial func(ctx context.Context, token string) (netcode.Conn, error)) *fleet {
	s := soloSocket(dial)
	return &fleet{perSocket: 1, open: func() (clientSocket, error) { return s, nil }}
}

// sharedFleet is a fleet of perSocket sessions per socket, each socket
// opened by open when its first session dials.
func sharedFleet(perSocket int, open func() (clientSocket, error)) *fleet {
	return &fleet{perSocket: max(1, perSocket), open: open, shared: true}
}

type soloSocket func(ctx context.Context, token string) (netcode.Conn, error)

func (s soloSocket) dial(ctx context.Context, token string) (netcode.Conn, error) {
	return s(ctx, token)
}
func (s soloSocket) close() error { return nil }

// group is session i's flush group.
func (f *fleet) group(i int) int { return i / f.perSocket }

// dial opens session i (safe from many goroutines).
func (f *fleet) dial(ctx context.Context, i int, token string) (netcode.Conn, error) {
	s, err := f.socket(f.group(i))
	if err != nil {
		return nil, err
	}
	return s.dial(ctx, token)
}

func (f *fleet) socket(g int) (clientSocket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.sockets) <= g {
		f.sockets = append(f.sockets, nil)
	}
	if f.sockets[g] == nil {
		s, err := f.open()
		if err != nil {
			return nil, fmt.Errorf("client socket %d: %w", g, err)
		}
		f.sockets[g] = s
	}
	return f.sockets[g], nil
}

// sockets is how many sockets the fleet opened.
func (f *fleet) numSockets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.sockets {
		if s != nil {
			n++
		}
	}
	return n
}

// keyPreparer is a client socket that can make its sessions' handshake
// keys ahead (a sealed kcp.ClientSocket).
type keyPreparer interface{ prepare(n int) error }

// prepareKeys opens the sockets of sessions 0..n-1 and has each make the
// handshake keys of its sessions ahead, where the transport has them: a
// connect storm then times the server's handshakes, not the generator's
// key generation. Nothing on other transports.
func (f *fleet) prepareKeys(n int) error {
	for g := 0; g*f.perSocket < n; g++ {
		s, err := f.socket(g)
		if err != nil {
			return err
		}
		if kp, ok := s.(keyPreparer); ok {
			if err := kp.prepare(min(f.perSocket, n-g*f.perSocket)); err != nil {
				return err
			}
		}
	}
	return nil
}

// close closes the fleet's sockets, after its sessions are closed.
func (f *fleet) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for i, s := range f.sockets {
		if s != nil {
			errs = append(errs, s.close())
			f.sockets[i] = nil
		}
	}
	return errors.Join(errs...)
}
