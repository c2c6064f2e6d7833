package bench

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	kcpgo "github.com/xtaci/kcp-go/v5"

	"github.com/tickwire/tickwire/netcode/kcp"
)

// BareProfile is the kcp-go tuning of the kcp-bare baseline: the tickwire
// KCP transport's default profile, applied to plain kcp-go sessions, so
// that the baseline isolates what tickwire adds on top of kcp-go.
const BareProfile = kcp.ProfileLowLatency

// echoHeader is the part of a baseline echo datagram that carries the
// sequence number; the rest is padding up to the payload size.
const echoHeader = 4

// UDPEchoServer answers every datagram with the same bytes. It is the
// udp-raw baseline's server: the physical floor of a round trip.
type UDPEchoServer struct {
	pc   *net.UDPConn
	wg   sync.WaitGroup
	once sync.Once
}

// StartUDPEcho listens on addr ("127.0.0.1:0" for a free port) and serves
// until Close.
func StartUDPEcho(addr string) (*UDPEchoServer, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	s := &UDPEchoServer{pc: pc}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *UDPEchoServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := s.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable reported on Linux
		}
		if _, err := s.pc.WriteToUDPAddrPort(buf[:n], from); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Addr is the address the server listens on.
func (s *UDPEchoServer) Addr() string { return s.pc.LocalAddr().String() }

// Close stops the server and waits for it. Idempotent.
func (s *UDPEchoServer) Close() error {
	var err error
	s.once.Do(func() {
		err = s.pc.Close()
		s.wg.Wait()
	})
	return err
}

// KCPEchoServer is kcp-go alone: a Listener with the bare profile and one
// echo goroutine per session. It is the kcp-bare baseline's server.
type KCPEchoServer struct {
	ln      *kcpgo.Listener
	profile kcp.Profile

	mu       sync.Mutex // guards sessions and closed
	sessions map[*kcpgo.UDPSession]struct{}
	closed   bool

	wg   sync.WaitGroup
	once sync.Once
}

// StartKCPEcho listens on addr and serves until Close.
func StartKCPEcho(addr string, p kcp.Profile) (*KCPEchoServer, error) {
	ln, err := kcpgo.ListenWithOptions(addr, nil, 0, 0)
	if err != nil {
		return nil, err
	}
	if err := ln.SetReadBuffer(4 << 20); err != nil {
		_ = ln.Close() // the buffer error is the one worth reporting
		return nil, err
	}
	if err := ln.SetWriteBuffer(4 << 20); err != nil {
		_ = ln.Close() // the buffer error is the one worth reporting
		return nil, err
	}
	s := &KCPEchoServer{ln: ln, profile: p, sessions: map[*kcpgo.UDPSession]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *KCPEchoServer) accept() {
	defer s.wg.Done()
	for {
		sess, err := s.ln.AcceptKCP()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = sess.Close() // the echo server is stopping; nothing to report to
			return
		}
		s.sessions[sess] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		if err := s.profile.ApplyTo(sess); err != nil {
			_ = sess.Close() // an unknown profile: serve no session rather than a mistuned one
			s.wg.Done()
			continue
		}
		go s.echo(sess)
	}
}

func (s *KCPEchoServer) echo(sess *kcpgo.UDPSession) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
		_ = sess.Close() // the session ended; its close error changes nothing
	}()
	buf := make([]byte, 65536)
	for {
		n, err := sess.Read(buf)
		if err != nil {
			return
		}
		if err := sess.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
			return
		}
		if _, err := sess.Write(buf[:n]); err != nil {
			return
		}
	}
}

// Addr is the address the server listens on.
func (s *KCPEchoServer) Addr() string { return s.ln.Addr().String() }

// Close stops accepting, closes every session and waits for all
// goroutines. Idempotent.
func (s *KCPEchoServer) Close() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		for sess := range s.sessions {
			_ = sess.Close() // the echo server is stopping; nothing to report to
		}
		s.mu.Unlock()
		err = s.ln.Close()
		s.wg.Wait()
	})
	return err
}

// udpLink is the udp-raw client: a connected UDP socket.
type udpLink struct {
	c        *net.UDPConn
	onReply  func(uint32)
	buf      []byte
	rbuf     []byte
	sent     atomic.Uint64
	received atomic.Uint64
}

func dialUDPLink(addr string, size int) (*udpLink, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, err
	}
	return &udpLink{c: c, buf: make([]byte, max(size, echoHeader)), rbuf: make([]byte, 65536)}, nil
}

func (l *udpLink) send(seq uint32) error {
	binary.BigEndian.PutUint32(l.buf, seq)
	n, err := l.c.Write(l.buf)
	l.sent.Add(uint64(n))
	return err
}

func (l *udpLink) bind(f func(uint32)) { l.onReply = f }

func (l *udpLink) run() {
	for {
		n, err := l.c.Read(l.rbuf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors from a lossy path are not fatal
		}
		l.received.Add(uint64(n))
		if n >= echoHeader {
			l.onReply(binary.BigEndian.Uint32(l.rbuf))
		}
	}
}

func (l *udpLink) wire() (uint64, string) {
	return l.sent.Load() + l.received.Load(), "client socket"
}

func (l *udpLink) close() error { return l.c.Close() }

// kcpLink is the kcp-bare client: kcp-go's own DialWithOptions.
type kcpLink struct {
	s       *kcpgo.UDPSession
	local   bool // the server runs in this process (wire counting)
	onReply func(uint32)
	buf     []byte
	rbuf    []byte
}

func dialKCPLink(addr string, size int, p kcp.Profile) (*kcpLink, error) {
	s, err := kcpgo.DialWithOptions(addr, nil, 0, 0)
	if err != nil {
		return nil, err
	}
	if err := p.ApplyTo(s); err != nil {
		_ = s.Close() // the profile error is the one worth reporting
		return nil, err
	}
	if err := s.SetReadBuffer(4 << 20); err != nil {
		_ = s.Close() // the buffer error is the one worth reporting
		return nil, err
	}
	if err := s.SetWriteBuffer(4 << 20); err != nil {
		_ = s.Close() // the buffer error is the one worth reporting
		return nil, err
	}
	return &kcpLink{s: s, buf: make([]byte, max(size, echoHeader)), rbuf: make([]byte, 65536)}, nil
}

func (l *kcpLink) send(seq uint32) error {
	binary.BigEndian.PutUint32(l.buf, seq)
	if err := l.s.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	_, err := l.s.Write(l.buf)
	return err
}

func (l *kcpLink) bind(f func(uint32)) { l.onReply = f }

func (l *kcpLink) run() {
	for {
		n, err := l.s.Read(l.rbuf)
		if err != nil {
			return
		}
		if n >= echoHeader {
			l.onReply(binary.BigEndian.Uint32(l.rbuf))
		}
	}
}

// wire is filled in by the caller from kcp-go's process-wide counters:
// a session has no byte counters of its own.
func (l *kcpLink) wire() (uint64, string) { return 0, "" }

func (l *kcpLink) close() error { return l.s.Close() }

func (l *udpLink) extra(*Result) {}
func (l *kcpLink) extra(*Result) {}
