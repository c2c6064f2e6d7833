package bench

import (
	"context"
	"errors"
	"os"

	"github.com/tickwire/tickwire/netcode/kcp"
)

// LocalConfig configures an in-process server set.
type LocalConfig struct {
	// DataDir holds the tickwire server's database (default: a fresh
	// temporary directory, removed on Close).
	DataDir string
	// NoTickwire starts only the baseline echo servers.
	NoTickwire bool
	// FastPasswords makes password hashing cheap (tests: registering chat
	// users under the race detector); never for a server people log into.
	FastPasswords bool
	// KCP configures the server's KCP listener (zero: the defaults).
	KCP kcp.Config
	// Listen addresses (default "127.0.0.1:0" each: a free loopback port).
	KCPAddr, TCPAddr, HTTPAddr, UDPEchoAddr, KCPEchoAddr string
}

func orLoopback(a string) string {
	if a == "" {
		return "127.0.0.1:0"
	}
	return a
}

// Local is a tickwire server plus the two baseline echo servers, all in
// this process on 127.0.0.1 with free ports.
type Local struct {
	udp    *UDPEchoServer
	kcp    *KCPEchoServer
	tw     *localTickwire
	tmpDir string
	target Target
}

// StartLocal starts the servers. Close stops them.
func StartLocal(ctx context.Context, cfg LocalConfig) (_ *Local, err error) {
	l := &Local{}
	defer func() {
		if err != nil {
			l.Close(context.Background())
		}
	}()
	if l.udp, err = StartUDPEcho(orLoopback(cfg.UDPEchoAddr)); err != nil {
		return nil, err
	}
	if l.kcp, err = StartKCPEcho(orLoopback(cfg.KCPEchoAddr), BareProfile); err != nil {
		return nil, err
	}
	l.target = Target{UDPEcho: l.udp.Addr(), KCPEcho: l.kcp.Addr(), Local: true, ServerPID: os.Getpid()}
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
	if l.tw, err = startLocalTickwire(ctx, cfg, dir, orLoopback(cfg.KCPAddr), orLoopback(cfg.TCPAddr), orLoopback(cfg.HTTPAddr)); err != nil {
		return nil, err
	}
	l.target.KCP, l.target.TCP, l.target.HTTP = l.tw.addrs()
	return l, nil
}

// Target returns the servers' addresses.
func (l *Local) Target() Target { return l.target }

// Close stops every server and waits for them.
func (l *Local) Close(ctx context.Context) error {
	var errs []error
	if l.tw != nil {
		errs = append(errs, l.tw.shutdown(ctx))
	}
	if l.kcp != nil {
		errs = append(errs, l.kcp.Close())
	}
	if l.udp != nil {
		errs = append(errs, l.udp.Close())
	}
	if l.tmpDir != "" {
		errs = append(errs, os.RemoveAll(l.tmpDir))
	}
	return errors.Join(errs...)
}
