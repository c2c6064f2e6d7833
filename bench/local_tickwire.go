package bench

import (
	"context"

	"github.com/tickwire/tickwire/internal/wire"
)

// BenchFrameRate is the per-session input rate the in-process server
// allows. The engine's default (200 frames/s) protects a real deployment
// from one client; an echo benchmark sends 1,000 frames/s paced and far
// more back to back, so the bench server lifts the cap. A remote server
// under test must be configured likewise.
const BenchFrameRate = 1_000_000

// localTickwire is an in-process tickwire server.
type localTickwire struct{ srv *wire.Server }

func startLocalTickwire(ctx context.Context, dir string) (*localTickwire, error) {
	cfg := wire.Config{KCPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: dir}
	cfg.Engine.MaxFramesPerSecond = BenchFrameRate
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
