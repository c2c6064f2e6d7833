package bench

import (
	"context"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/internal/wire"
)

// Limits of the in-process (and "tickbench serve") server that differ
// from a production server's defaults, because a benchmark is one client
// machine that deliberately sends much more than one player would:
//
//   - BenchFrameRate: the per-session input cap (engine default 200
//     frames/s); paced echo sends 1,000 frames/s and back-to-back far more.
//   - BenchMessageRate: the per-user chat token bucket (social default
//     10/s, burst 20).
//   - BenchRegistrations: registrations per IP and window (accounts
//     default 10/min); every chat user registers from 127.0.0.1.
//
// A remote server under test must be configured likewise.
const (
	BenchFrameRate     = 1_000_000
	BenchMessageRate   = 1_000_000
	BenchRegistrations = 1_000_000
)

// fastArgon2 is a cheap password hash for test servers only
// (LocalConfig.FastPasswords); password hashing is never measured.
var fastArgon2 = accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// localTickwire is an in-process tickwire server.
type localTickwire struct{ srv *wire.Server }

func startLocalTickwire(ctx context.Context, lc LocalConfig, dir, kcpAddr, tcpAddr, httpAddr string) (*localTickwire, error) {
	cfg := wire.Config{KCPAddr: kcpAddr, TCPAddr: tcpAddr, HTTPAddr: httpAddr, DataDir: dir, KCP: lc.KCP}
	cfg.Engine.MaxFramesPerSecond = BenchFrameRate
	cfg.Social.MessagesPerSecond = BenchMessageRate
	cfg.Social.MessageBurst = BenchMessageRate
	cfg.Accounts.RegistrationsPerIP = BenchRegistrations
	if lc.FastPasswords {
		cfg.Accounts.Argon2 = fastArgon2
	}
	srv, err := wire.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &localTickwire{srv: srv}, nil
}

func (t *localTickwire) addrs() (kcp, tcp, http string) {
	return t.srv.KCPAddr(), t.srv.TCPAddr(), t.srv.HTTPAddr()
}

func (t *localTickwire) shutdown(ctx context.Context) error { return t.srv.Shutdown(ctx) }
