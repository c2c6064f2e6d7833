package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/tickwire/tickwire/netcode/kcp"
)

// TickwireServer is a running tickwire server, as StartLocal needs it
// (*server.Server is one).
type TickwireServer interface {
	// Addr is the bound address of the transport named name ("kcp", "tcp",
	// "webrtc").
	Addr(name string) string
	HTTPAddr() string
	// AdminAddr is the bound address of the admin listener, "" when off.
	AdminAddr() string
	Shutdown(ctx context.Context) error
}

// TickwireSpec says where and how StartLocal wants the tickwire server.
// internal/benchserver.Config has the same fields, so that one converts
// to the other.
type TickwireSpec struct {
	// Listen addresses: KCP, TCP and WebRTC's UDP port; the HTTP server
	// also serves the ws and longpoll transports and WebRTC's offers.
	KCPAddr, TCPAddr, HTTPAddr, WebRTCAddr string
	DataDir                                string // the server's database directory
	KCP                                    kcp.Config
	// FastPasswords makes password hashing cheap (tests registering chat
	// users under the race detector); never for a server people log into.
	FastPasswords bool
	// ProductionLimits keeps the production rate limits instead of the
	// bench limits (tests of how the scenarios report them).
	ProductionLimits bool
	// AdminAddr, when set, opens the admin listener there (loopback):
	// GET /v1/stats (the server's own counters: datagrams and system
	// calls per transport), /metrics and pprof, behind AdminToken (at
	// least 16 bytes).
	AdminAddr, AdminToken string
}

// StartTickwire starts a tickwire server in this process. The bench
// library does not assemble servers itself (it builds on the client);
// cmd/tickbench passes internal/benchserver's Start.
type StartTickwire func(ctx context.Context, spec TickwireSpec) (TickwireServer, error)

// LocalConfig configures an in-process server set.
type LocalConfig struct {
	// Tickwire starts the tickwire server; required unless NoTickwire.
	Tickwire StartTickwire
	// DataDir holds the tickwire server's database (default: a fresh
	// temporary directory, removed on Close).
	DataDir string
	// NoTickwire starts only the baseline servers.
	NoTickwire bool
	// FastPasswords, ProductionLimits, AdminAddr and AdminToken are
	// passed on in TickwireSpec.
	FastPasswords, ProductionLimits bool
	AdminAddr, AdminToken           string
	// KCP configures the server's KCP listener (zero: the defaults).
	KCP kcp.Config
	// Listen addresses (default "127.0.0.1:0" each: a free loopback port).
	KCPAddr, TCPAddr, HTTPAddr, WebRTCAddr, UDPEchoAddr, KCPEchoAddr, UDPRoomAddr string
	// UDPRoom configures the udp-raw room relay (zero: the defaults,
	// 30 Hz); a room run over udp-raw needs its TickHz to be the run's.
	UDPRoom UDPRoomConfig
}

func orLoopback(a string) string {
	if a == "" {
		return "127.0.0.1:0"
	}
	return a
}

// Local is a tickwire server plus the baseline servers (the two echo
// servers and the udp-raw room relay), all in this process on 127.0.0.1
// with free ports.
type Local struct {
	udp    *UDPEchoServer
	kcp    *KCPEchoServer
	room   *UDPRoomServer
	tw     TickwireServer
	tmpDir string
	target Target
}

// StartLocal starts the servers. Close stops them.
func StartLocal(ctx context.Context, cfg LocalConfig) (_ *Local, err error) {
	if !cfg.NoTickwire && cfg.Tickwire == nil {
		return nil, fmt.Errorf("%w: LocalConfig.Tickwire is nil (pass benchserver.Start, or set NoTickwire)", ErrConfig)
	}
	l := &Local{}
	defer func() {
		if err != nil {
			_ = l.Close(context.Background()) // the start error is the one reported
		}
	}()
	if l.udp, err = StartUDPEcho(orLoopback(cfg.UDPEchoAddr)); err != nil {
		return nil, err
	}
	if l.kcp, err = StartKCPEcho(orLoopback(cfg.KCPEchoAddr), BareProfile); err != nil {
		return nil, err
	}
	if l.room, err = StartUDPRoom(orLoopback(cfg.UDPRoomAddr), cfg.UDPRoom); err != nil {
		return nil, err
	}
	l.target = Target{UDPEcho: l.udp.Addr(), KCPEcho: l.kcp.Addr(), UDPRoom: l.room.Addr(), Local: true, ServerPID: os.Getpid()}
	if cfg.NoTickwire {
		return l, nil
	}
	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "tickbench-"); err != nil {
			return nil, err
		}
		l.tmpDir = dir
	}
	tw, err := cfg.Tickwire(ctx, TickwireSpec{
		KCPAddr: orLoopback(cfg.KCPAddr), TCPAddr: orLoopback(cfg.TCPAddr), HTTPAddr: orLoopback(cfg.HTTPAddr),
		WebRTCAddr: orLoopback(cfg.WebRTCAddr),
		DataDir:    dir, KCP: cfg.KCP, FastPasswords: cfg.FastPasswords, ProductionLimits: cfg.ProductionLimits,
		AdminAddr: cfg.AdminAddr, AdminToken: cfg.AdminToken,
	})
	if err != nil {
		return nil, err
	}
	l.tw = tw
	l.target.KCP, l.target.TCP, l.target.HTTP = tw.Addr("kcp"), tw.Addr("tcp"), tw.HTTPAddr()
	l.target.WebRTC = tw.Addr("webrtc")
	l.target.Admin = tw.AdminAddr()
	return l, nil
}

// Target returns the servers' addresses.
func (l *Local) Target() Target { return l.target }

// UDPRoom is the udp-raw room relay.
func (l *Local) UDPRoom() *UDPRoomServer { return l.room }

// Close stops every server and waits for them.
func (l *Local) Close(ctx context.Context) error {
	var errs []error
	if l.tw != nil {
		// The scenarios ask the HTTP API through the default client. A
		// connection it dialled for a request that was then cancelled sits
		// in its idle pool without ever sending a request, and the HTTP
		// server's graceful shutdown waits up to 5 s for such a
		// connection: close them first.
		http.DefaultClient.CloseIdleConnections()
		errs = append(errs, l.tw.Shutdown(ctx))
	}
	if l.kcp != nil {
		errs = append(errs, l.kcp.Close())
	}
	if l.udp != nil {
		errs = append(errs, l.udp.Close())
	}
	if l.room != nil {
		errs = append(errs, l.room.Close())
	}
	if l.tmpDir != "" {
		errs = append(errs, os.RemoveAll(l.tmpDir))
	}
	return errors.Join(errs...)
}

// NodeTarget is the Target of a tickwire server running in this process
// (a node of an in-process cluster: no baseline echo servers).
func NodeTarget(s TickwireServer) Target {
	return Target{KCP: s.Addr("kcp"), TCP: s.Addr("tcp"), HTTP: s.HTTPAddr(), WebRTC: s.Addr("webrtc"),
		Admin: s.AdminAddr(), Local: true, ServerPID: os.Getpid()}
}
