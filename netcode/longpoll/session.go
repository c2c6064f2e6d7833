package longpoll

import (
	"net"
	"net/netip"
	"time"

	"github.com/tickwire/tickwire/internal/tcprtt"
	"github.com/tickwire/tickwire/netcode"
)

var (
	_ netcode.Conn  = (*session)(nil)
	_ netcode.RTTer = (*session)(nil)
)

// session is the server's end of one long-poll session and the
// netcode.Conn the engine reads and writes. Its HTTP requests, the
// engine's reader and writer, and the listener's janitor meet in its
// pipe, under pipe.mu.
type session struct {
	pipe
	l      *Listener
	id     string
	secret []byte
	remote net.Addr
	ip     netip.Addr // the per-address key of remote (netcode.AddrIP)

	// Guarded by pipe.mu:
	active   int       // requests in progress
	lastSeen time.Time // when the last request began or ended
	recvGen  uint64    // the newest recv; an older one still held gives way
	closedAt time.Time // when the server closed it (the close record lingers)
	conn     net.Conn  // the connection the last request came on (httpapi.Conn), for RTT; nil outside the assembly
	lingers  bool      // closed by the server, close record not yet fetched
	// closeCode and closeReason are what the server closed it with.
	closeCode   netcode.Code
	closeReason string

	// pending is guarded by Listener.mu: opened, not yet taken by Accept.
	pending bool
}

// begin and end bracket every authenticated request: a session with a
// request in progress is never idle.
func (s *session) begin(now time.Time, conn net.Conn) {
	s.mu.Lock()
	s.active++
	s.lastSeen = now
	if conn != nil {
		s.conn = conn
	}
	s.mu.Unlock()
}

func (s *session) end(now time.Time) {
	s.mu.Lock()
	s.active--
	s.lastSeen = now
	s.mu.Unlock()
}

// expired reports whether the janitor should remove the session at now,
// closing it first with an idle timeout when it is still open.
func (s *session) expired(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lingers {
		return now.Sub(s.closedAt) >= s.lim.CloseLinger
	}
	if s.closed {
		return true
	}
	if s.active > 0 || now.Sub(s.lastSeen) < s.lim.IdleTimeout {
		return false
	}
	s.closeLocked(idleError(s.lim.IdleTimeout), peerClose)
	s.l.stats.idle.Add(1)
	return true
}

// ReadMessage returns the next frame the client sent; see netcode.Conn.
// After the client's close record or DELETE it returns a
// *netcode.CloseError, after an idle timeout an error matching
// netcode.ErrIdleTimeout, after a protocol error a *netcode.CodedError.
func (s *session) ReadMessage() (netcode.Channel, []byte, error) { return s.readMessage() }

// WriteMessage queues a frame for the client's next recv.
func (s *session) WriteMessage(ch netcode.Channel, p []byte) error {
	return s.writeMessage(ch, p, func(err error) {
		s.l.stats.slow.Add(1)
		s.closeServer(err, peerClose, netcode.CodeOf(err), err.Error())
	})
}

// Close queues a close record for the client (kept CloseLinger for it to
// fetch) and ends the session; ReadMessage returns netcode.ErrClosed.
// Idempotent.
func (s *session) Close(code netcode.Code, reason string) error {
	s.closeServer(netcode.ErrClosed, localClose, code, reason)
	return nil
}

// closeServer closes the session from the server's side with cause
// (localClose: by the Conn's owner or the listener), leaving a close
// record for the client.
func (s *session) closeServer(cause error, local closer, code netcode.Code, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closeLocked(cause, local) {
		return
	}
	s.pushCloseLocked(code, reason)
	s.closeCode, s.closeReason = code, reason
	s.lingers = true
	s.closedAt = time.Now()
}

// fail closes the session at once for a protocol error in one of its
// requests; the request's answer carries the code.
func (s *session) fail(err error) {
	s.mu.Lock()
	s.closeLocked(err, peerClose)
	s.mu.Unlock()
	s.l.remove(s)
}

// Stats returns a snapshot of the counters; bytes count record headers
// and bodies. Stats.RTT stays 0: read it with netcode.RTTOf (RTT).
func (s *session) Stats() netcode.Stats { return s.stats() }

// RTT is the kernel's smoothed estimate (TCP_INFO, Linux; one system
// call) for the TCP connection the session's last request came on: a
// browser keeps its requests on one or two kept-alive connections to the
// server, so it is the client's link (behind a proxy, the proxy's leg).
// It is 0 before the first such request or where it cannot be read. It
// implements netcode.RTTer.
func (s *session) RTT() time.Duration {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return 0
	}
	return tcprtt.Of(conn)
}

// Transport returns "longpoll".
func (s *session) Transport() string { return transportName }

// LocalAddr is the listener's address (the HTTP routes' prefix).
func (s *session) LocalAddr() net.Addr { return s.l.Addr() }

// RemoteAddr is the client's address as the assembly's trusted-proxy rule
// gives it, so the engine's per-address caps count the real client.
func (s *session) RemoteAddr() net.Addr { return s.remote }
