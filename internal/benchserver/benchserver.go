package benchserver

import (
	"cmp"
	"context"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
)

// Config says where and how to start the server. It has the fields of
// bench.TickwireSpec, in the same order, so that one converts to the
// other (bench.TickwireSpec(c), Config(spec)); this package does not
// import bench, so that bench's own tests can start this server.
type Config struct {
	// Listen addresses ("127.0.0.1:0": a free port): KCP, TCP, HTTP (which
	// also serves ws, longpoll and WebRTC's offers) and WebRTC's UDP port
	// (empty: 127.0.0.1:0).
	KCPAddr, TCPAddr, HTTPAddr, WebRTCAddr string
	DataDir                                string // the SQLite database's directory
	KCP                                    kcp.Config
	// FastPasswords makes password hashing cheap (tests registering many
	// users under the race detector); never for a server people log into.
	FastPasswords bool
	// ProductionLimits keeps the production rate limits instead of the
	// bench limits (tests of how tickbench reports them).
	ProductionLimits bool
	// AdminAddr, when set, opens the admin listener there (GET /v1/stats,
	// /metrics, pprof) behind AdminToken.
	AdminAddr, AdminToken string
}

// Limits of the benchmark server that differ from a production server's
// defaults, because a benchmark is one client machine that deliberately
// sends much more than one player would:
//
//   - BenchFrameRate: the per-session input cap (engine default 200
//     frames/s); paced echo sends 1,000 frames/s and back-to-back far more.
//   - BenchMessageRate: the per-user chat token bucket (social default
//     10/s, burst 20).
//   - BenchRegistrations: registrations per IP and window (accounts
//     default 10/min); every chat user registers from one address.
//   - sessions per IP (engine default 32), guest tokens per IP (default
//     10/min) and login attempts per IP are not limited: every client of
//     a run comes from one address; nor are the transports' own per-IP
//     caps on sessions being set up (long-poll sessions opened and not yet
//     accepted, WebRTC offers in flight and connections not yet open:
//     default 8 each), which a connect storm of 32 in flight exceeds;
//   - client-created rooms may tick at up to room.MaxTickRate (rooms
//     default cap 30 Hz), so that --tick-hz measures what it says.
//
// A remote server under test must be configured likewise.
const (
	BenchFrameRate     = 1_000_000
	BenchMessageRate   = 1_000_000
	BenchRegistrations = 1_000_000
	// BenchPendingPerIP is the long-poll and WebRTC transports' cap on
	// sessions being set up per client address (default 8 each; their
	// configs take no "unlimited", so a count no run reaches).
	BenchPendingPerIP = 1_000_000
)

// fastArgon2 is a cheap password hash for test servers only
// (Config.FastPasswords); password hashing is never measured.
var fastArgon2 = accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// Start starts a tickwire server as spec says, with the bench limits
// unless spec.ProductionLimits.
func Start(ctx context.Context, spec Config) (*server.Server, error) {
	return server.Start(ctx, serverConfig(spec))
}

// serverConfig is the server configuration spec says.
func serverConfig(spec Config) server.Config {
	lp := &longpoll.Transport{}
	rtc := &webrtc.Transport{Addr: cmp.Or(spec.WebRTCAddr, "127.0.0.1:0")}
	cfg := server.Config{HTTPAddr: spec.HTTPAddr, DataDir: spec.DataDir, Transports: []netcode.Transport{
		&kcp.Transport{Addr: spec.KCPAddr, Config: spec.KCP},
		&tcp.Transport{Addr: spec.TCPAddr},
		&ws.Transport{},
		lp,
		rtc,
	}}
	if !spec.ProductionLimits {
		lp.Config.MaxPendingPerIP = BenchPendingPerIP
		rtc.Config.MaxPendingPerIP = BenchPendingPerIP
		cfg.Engine.MaxFramesPerSecond = BenchFrameRate
		cfg.Engine.MaxSessionsPerIP = -1
		cfg.Engine.GuestsPerIP = -1
		cfg.Accounts.LoginAttemptsPerIP = BenchRegistrations
		cfg.Rooms.MaxClientTickRate = room.MaxTickRate
		cfg.Social.MessagesPerSecond = BenchMessageRate
		cfg.Social.MessageBurst = BenchMessageRate
		cfg.Accounts.RegistrationsPerIP = BenchRegistrations
	}
	if spec.FastPasswords {
		cfg.Accounts.Argon2 = fastArgon2
	}
	cfg.AdminAddr, cfg.Engine.AdminToken = spec.AdminAddr, spec.AdminToken
	return cfg
}
