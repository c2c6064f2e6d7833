package bench

import (
	"context"
	"errors"
	"os"
)

// LocalConfig configures an in-process server set.
type LocalConfig struct {
	// DataDir holds the tickwire server's database (default: a fresh
	// temporary directory, removed on Close).
	DataDir string
	// NoTickwire starts only the baseline echo servers.
	NoTickwire bool
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
	if l.udp, err = StartUDPEcho("127.0.0.1:0"); err != nil {
		return nil, err
	}
	if l.kcp, err = StartKCPEcho("127.0.0.1:0", BareProfile); err != nil {
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
	if l.tw, err = startLocalTickwire(ctx, dir); err != nil {
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
