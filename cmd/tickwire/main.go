// Command tickwire runs the tickwire realtime server: KCP on UDP :7777,
// framed TCP on :7778, WebRTC data channels on UDP :7779, and the HTTP API
// on :7780 with WebSocket (/v1/ws), long-polling (/v1/lp/), WebRTC
// offers (/v1/rtc/offer), the browser SDK (/web/tickwire.js) and the demo
// page (/) by default. Flags override environment variables, which
// override the defaults; see docs/ENGINE.md. With -tls-cert/-tls-key,
// -tls-self-signed or -tls-acme-domain the HTTP port serves HTTPS (WSS,
// long-polling and signaling over HTTPS) and TCP is TLS (docs/TLS.md).
// KCP datagrams are always sealed, with keys agreed against the static
// key kept in DATA/kcp.key (-kcp-key) and published at GET /v1/kcp
// (docs/KCP.md).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/netcode/tlsconf"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tickwire:", err)
		os.Exit(1)
	}
}

// off disables a listener when given as its address.
const off = server.Off

// options are the command's settings after flags and environment.
type options struct {
	srv             server.Config
	logLevel        slog.Level
	logFormat       string
	shutdownTimeout time.Duration
	drainTimeout    time.Duration  // 0: no drain, shut down at once
	tls             tlsconf.Config // ModeOff: plain HTTP and TCP
}

// parse reads flags from args over environment variables from getenv.
func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("tickwire", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kcpAddr := fs.String("kcp", env("TICKWIRE_KCP_ADDR", kcp.DefaultAddr), `KCP (UDP) listen address, or "off" (env TICKWIRE_KCP_ADDR)`)
	kcpKey := fs.String("kcp-key", env("TICKWIRE_KCP_KEY", ""), "file of the KCP listener's static X25519 key (32 raw bytes, mode 0600), created on first start; empty = DATA/kcp.key. Clients pin its public key: GET /v1/kcp (env TICKWIRE_KCP_KEY)")
	kcpPlain := fs.Bool("kcp-plaintext-allowed", env("TICKWIRE_KCP_PLAINTEXT_ALLOWED", "") == "true", "accept KCP sessions that ask for no encryption: for benchmarks only, never in production (env TICKWIRE_KCP_PLAINTEXT_ALLOWED=true)")
	tcpAddr := fs.String("tcp", env("TICKWIRE_TCP_ADDR", tcp.DefaultAddr), `TCP listen address, or "off" (env TICKWIRE_TCP_ADDR)`)
	rtcAddr := fs.String("webrtc", env("TICKWIRE_WEBRTC_ADDR", webrtc.DefaultAddr), `WebRTC data channels: the one UDP address every peer shares, or "off"; offers go to /v1/rtc/offer on the HTTP port (env TICKWIRE_WEBRTC_ADDR)`)
	rtcPublic := fs.String("webrtc-public-ips", env("TICKWIRE_WEBRTC_PUBLIC_IPS", ""), "comma-separated IPs browsers should send WebRTC traffic to, when the server sits behind a 1:1 NAT (env TICKWIRE_WEBRTC_PUBLIC_IPS)")
	wsOn := fs.String("ws", env("TICKWIRE_WS", "on"), `WebSocket at /v1/ws on the HTTP port: "on" or "off" (env TICKWIRE_WS)`)
	origins := fs.String("origins", env("TICKWIRE_ORIGINS", ""), `comma-separated origins of browser pages allowed to use the HTTP API (CORS) and the WebSocket, besides the server's own host and localhost: "https://game.example.com", "*.example.com", or "*" for any (env TICKWIRE_ORIGINS)`)
	wsOrigins := fs.String("ws-origins", env("TICKWIRE_WS_ORIGINS", ""), "deprecated, use -origins: comma-separated origins allowed to open WebSockets only, added to -origins (env TICKWIRE_WS_ORIGINS)")
	longPoll := fs.String("longpoll", env("TICKWIRE_LONGPOLL", "on"), `HTTP long-polling under /v1/lp/ on the HTTP port: "on" or "off" (env TICKWIRE_LONGPOLL)`)
	demo := fs.String("demo", env("TICKWIRE_DEMO", "on"), `the demo page at / and the browser SDK at /web/tickwire.js on the HTTP port: "on" or "off" (env TICKWIRE_DEMO)`)
	httpAddr := fs.String("http", env("TICKWIRE_HTTP_ADDR", server.DefaultHTTPAddr), `HTTP API listen address, or "off" (env TICKWIRE_HTTP_ADDR)`)
	dataDir := fs.String("data", env("TICKWIRE_DATA_DIR", server.DefaultDataDir), "data directory for the SQLite database (env TICKWIRE_DATA_DIR)")
	storeDSN := fs.String("store", env("TICKWIRE_STORE_DSN", ""), "the store of accounts, friends, groups and messages: empty = SQLite in the data directory; postgres://user:pass@host:5432/db = a PostgreSQL database the nodes of a cluster share (docs/CLUSTER.md) (env TICKWIRE_STORE_DSN)")
	natsURLs := fs.String("nats", env("TICKWIRE_NATS", ""), "comma-separated NATS URLs (nats://host:4222) of a cluster this node joins; empty = a single node (docs/CLUSTER.md) (env TICKWIRE_NATS)")
	natsEmbedded := fs.String("nats-embedded", env("TICKWIRE_NATS_EMBEDDED", ""), `run a NATS server in this process and join the cluster through it: "on" (127.0.0.1:4222) or a listen address; other nodes list it in -nats; empty = off (env TICKWIRE_NATS_EMBEDDED)`)
	nodeID := fs.String("node-id", env("TICKWIRE_NODE_ID", ""), "this node's id in the cluster, unique, of [A-Za-z0-9_-]; empty = the host name (env TICKWIRE_NODE_ID)")
	advertise := fs.String("advertise", env("TICKWIRE_ADVERTISE", ""), "base URL of this node's HTTP API as clients reach it (https://eu1.example.com:7780): where other nodes redirect clients; empty = the HTTP listener's address (env TICKWIRE_ADVERTISE)")
	tokenKey := fs.String("token-key", env("TICKWIRE_TOKEN_KEY", ""), "token signing key, at least 32 bytes; empty = the key kept in DATA/token.key (or, with -store postgres://..., in the database), created on first start (env TICKWIRE_TOKEN_KEY)")
	logLevel := fs.String("log-level", env("TICKWIRE_LOG_LEVEL", "info"), "debug, info, warn or error (env TICKWIRE_LOG_LEVEL)")
	logSummary := fs.Duration("log-summary", envDuration(env, "TICKWIRE_LOG_SUMMARY"), "how often to log the activity line at info (counts that moved), 0 = default 60s, negative = off (env TICKWIRE_LOG_SUMMARY)")
	logFormat := fs.String("log-format", env("TICKWIRE_LOG_FORMAT", "text"), "text or json (env TICKWIRE_LOG_FORMAT)")
	maxFrame := fs.Int("max-frame-size", envInt(env, "TICKWIRE_MAX_FRAME_SIZE"), "largest client frame in bytes, 0 = default 16384 (env TICKWIRE_MAX_FRAME_SIZE)")
	maxFPS := fs.Int("max-frames-per-sec", envInt(env, "TICKWIRE_MAX_FRAMES_PER_SEC"), "frames per second per session, 0 = default 200, -1 = no limit (benchmarks) (env TICKWIRE_MAX_FRAMES_PER_SEC)")
	guestTTL := fs.Duration("guest-ttl", envDuration(env, "TICKWIRE_GUEST_TTL"), "guest token lifetime, 0 = default 24h (env TICKWIRE_GUEST_TTL)")
	heartbeat := fs.Duration("heartbeat", envDuration(env, "TICKWIRE_HEARTBEAT"), "transport heartbeat interval, advertised in Welcome, 0 = default 1s (env TICKWIRE_HEARTBEAT)")
	idle := fs.Duration("idle-timeout", envDuration(env, "TICKWIRE_IDLE_TIMEOUT"), "close a session silent this long, advertised in Welcome, 0 = default 10s (env TICKWIRE_IDLE_TIMEOUT)")
	maxPerIP := fs.Int("max-sessions-per-ip", envInt(env, "TICKWIRE_MAX_SESSIONS_PER_IP"), "sessions open at once from one address (IPv6: one /64), 0 = default 32, -1 = no limit (env TICKWIRE_MAX_SESSIONS_PER_IP)")
	maxSessions := fs.Int("max-sessions", envInt(env, "TICKWIRE_MAX_SESSIONS"), "sessions open at once on the server, 0 = default 10000, -1 = no limit (env TICKWIRE_MAX_SESSIONS)")
	maxRoomsPerUser := fs.Int("max-rooms-per-user", envInt(env, "TICKWIRE_MAX_ROOMS_PER_USER"), "open rooms one user may have created, 0 = default 8 (env TICKWIRE_MAX_ROOMS_PER_USER)")
	maxRooms := fs.Int("max-rooms", envInt(env, "TICKWIRE_MAX_ROOMS"), "client-created rooms open on the server, 0 = default 10000 (env TICKWIRE_MAX_ROOMS)")
	maxClientHz := fs.Int("max-client-tick-rate", envInt(env, "TICKWIRE_MAX_CLIENT_TICK_RATE"), "highest tick rate of a client-created room in Hz (higher requests are lowered), 0 = default 30 (env TICKWIRE_MAX_CLIENT_TICK_RATE)")
	emptyTTL := fs.Duration("empty-room-ttl", envDuration(env, "TICKWIRE_EMPTY_ROOM_TTL"), "longest life of an empty client-created room, 0 = default 30s (env TICKWIRE_EMPTY_ROOM_TTL)")
	voiceBitrate := fs.Int("voice-bitrate", envInt(env, "TICKWIRE_VOICE_BITRATE"), "payload bits per second one member may send in a voice room, 0 = default 64000 (env TICKWIRE_VOICE_BITRATE)")
	voiceMembers := fs.Int("voice-max-members", envInt(env, "TICKWIRE_VOICE_MAX_MEMBERS"), "largest voice room capacity, 0 = default 32 (env TICKWIRE_VOICE_MAX_MEMBERS)")
	maxHashes := fs.Int("max-concurrent-hashes", envInt(env, "TICKWIRE_MAX_CONCURRENT_HASHES"), "password hashes (argon2id) computed at once, 0 = default GOMAXPROCS (env TICKWIRE_MAX_CONCURRENT_HASHES)")
	hashQueue := fs.Int("max-hash-queue", envInt(env, "TICKWIRE_MAX_HASH_QUEUE"), "logins and registrations waiting for a hashing slot before server_busy, 0 = default 64, -1 = none wait (env TICKWIRE_MAX_HASH_QUEUE)")
	loginPerUser := fs.Int("login-attempts-per-user", envInt(env, "TICKWIRE_LOGIN_ATTEMPTS_PER_USER"), "login attempts per username per minute, taken before any hashing, 0 = default 5 (env TICKWIRE_LOGIN_ATTEMPTS_PER_USER)")
	loginPerIP := fs.Int("login-attempts-per-ip", envInt(env, "TICKWIRE_LOGIN_ATTEMPTS_PER_IP"), "login attempts per client address per minute, 0 = default 20 (env TICKWIRE_LOGIN_ATTEMPTS_PER_IP)")
	registerPerIP := fs.Int("registrations-per-ip", envInt(env, "TICKWIRE_REGISTRATIONS_PER_IP"), "registrations per client address per minute, 0 = default 10 (env TICKWIRE_REGISTRATIONS_PER_IP)")
	resumeWindow := fs.Duration("resume-window", envDuration(env, "TICKWIRE_RESUME_WINDOW"), "how long a session whose connection was lost is kept for a resume (rooms see the member away), 0 = default 30s, negative = resume off (env TICKWIRE_RESUME_WINDOW)")
	rateGrace := fs.Duration("rate-limit-grace", envDuration(env, "TICKWIRE_RATE_LIMIT_GRACE"), "how long a session may keep sending above -max-frames-per-sec before it is closed with rate_limited, 0 = default 5s (env TICKWIRE_RATE_LIMIT_GRACE)")
	maxInvites := fs.Int("max-pending-invites", envInt(env, "TICKWIRE_MAX_PENDING_INVITES"), "pending group invitations one user may hold, 0 = default 100 (env TICKWIRE_MAX_PENDING_INVITES)")
	guestRevocations := fs.Int("max-guest-revocations", envInt(env, "TICKWIRE_MAX_GUEST_REVOCATIONS"), "logged-out guest tokens remembered (in memory) until they expire; past it a guest logout or refresh is refused with server_busy, 0 = default 100000 (env TICKWIRE_MAX_GUEST_REVOCATIONS)")
	guestsPerIP := fs.Int("guests-per-ip", envInt(env, "TICKWIRE_GUESTS_PER_IP"), "guest tokens per client address per minute, 0 = default 10, -1 = no limit (env TICKWIRE_GUESTS_PER_IP)")
	trusted := fs.String("trusted-proxies", env("TICKWIRE_TRUSTED_PROXIES", ""), "comma-separated CIDRs of load balancers whose X-Forwarded-For names the client (env TICKWIRE_TRUSTED_PROXIES)")
	adminToken := fs.String("admin-token", env("TICKWIRE_ADMIN_TOKEN", ""), "bearer token of the admin listener (-admin-addr), at least 16 bytes (prefer the env TICKWIRE_ADMIN_TOKEN: flags show in ps)")
	adminAddr := fs.String("admin-addr", env("TICKWIRE_ADMIN_ADDR", ""), "admin listener address (/metrics, /debug/pprof/, /v1/stats behind -admin-token), e.g. 127.0.0.1:7781; empty = off (env TICKWIRE_ADMIN_ADDR)")
	syncMode := fs.String("sqlite-synchronous", env("TICKWIRE_SQLITE_SYNCHRONOUS", "full"), "SQLite durability: full (an acknowledged write survives power loss) or normal (faster; the last writes before a power loss may be lost) (env TICKWIRE_SQLITE_SYNCHRONOUS)")
	tlsf := registerTLS(fs, env)
	shutdown := fs.Duration("shutdown-timeout", envDuration(env, "TICKWIRE_SHUTDOWN_TIMEOUT"), "graceful shutdown bound, 0 = default 10s (env TICKWIRE_SHUTDOWN_TIMEOUT)")
	drain := fs.Duration("drain-timeout", envDuration(env, "TICKWIRE_DRAIN_TIMEOUT"), "on SIGTERM/SIGINT (or POST /v1/admin/drain) refuse new sessions and rooms with draining (34) and let rooms run this long at most before shutting down (then -shutdown-timeout to flush); a second signal exits at once. 0 = default 30s, negative = no drain (env TICKWIRE_DRAIN_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var o options
	if err := o.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return options{}, fmt.Errorf("-log-level: %w", err)
	}
	switch *logFormat {
	case "text", "json":
		o.logFormat = *logFormat
	default:
		return options{}, fmt.Errorf("-log-format: %q is not text or json", *logFormat)
	}
	if *tokenKey != "" && len(*tokenKey) < 32 {
		return options{}, fmt.Errorf("-token-key: %d bytes, want at least 32", len(*tokenKey))
	}
	if *maxFrame < 0 || *maxFPS < -1 || *guestTTL < 0 || *shutdown < 0 || *heartbeat < 0 || *idle < 0 ||
		*maxPerIP < -1 || *maxSessions < -1 || *maxRoomsPerUser < 0 || *maxRooms < 0 || *maxClientHz < 0 || *emptyTTL < 0 || *voiceBitrate < 0 || *voiceMembers < 0 ||
		*maxHashes < 0 || *hashQueue < -1 || *maxInvites < 0 || *guestsPerIP < -1 || *guestRevocations < 0 ||
		*loginPerUser < 0 || *loginPerIP < 0 || *registerPerIP < 0 || *rateGrace < 0 {
		return options{}, errors.New("limits and durations must not be negative")
	}
	hb, it := *heartbeat, *idle
	if hb == 0 {
		hb = engine.DefaultHeartbeatInterval
	}
	if it == 0 {
		it = engine.DefaultIdleTimeout
	}
	if it <= hb {
		return options{}, fmt.Errorf("-idle-timeout %v must exceed -heartbeat %v", it, hb)
	}
	o.srv = server.Config{HTTPAddr: *httpAddr, DataDir: *dataDir, StoreDSN: *storeDSN}
	cl, err := clusterFlags(*natsURLs, *natsEmbedded, *nodeID, *advertise)
	if err != nil {
		return options{}, err
	}
	o.srv.Cluster = cl
	wsOnly, err := onOff("-ws", *wsOn)
	if err != nil {
		return options{}, err
	}
	lpOnly, err := onOff("-longpoll", *longPoll)
	if err != nil {
		return options{}, err
	}
	// The transports this binary serves: one line each. Those over HTTP
	// need the HTTP server.
	for _, t := range []struct {
		flag string
		on   bool
		http bool
		t    netcode.Transport
	}{
		{"-kcp", *kcpAddr != off, false, &kcp.Transport{Addr: *kcpAddr, KeyFile: cmp.Or(*kcpKey, filepath.Join(*dataDir, "kcp.key")),
			Config: kcp.Config{AllowPlaintext: *kcpPlain}}},
		{"-tcp", *tcpAddr != off, false, &tcp.Transport{Addr: *tcpAddr}},
		{"-webrtc", *rtcAddr != off, true, &webrtc.Transport{Addr: *rtcAddr, Config: webrtc.Config{PublicIPs: list(*rtcPublic)}}},
		{"-ws", wsOnly, true, &ws.Transport{Config: ws.Config{AllowedOrigins: list(*wsOrigins)}}},
		{"-longpoll", lpOnly, true, &longpoll.Transport{}},
	} {
		switch {
		case !t.on:
		case t.http && *httpAddr == off:
			return options{}, fmt.Errorf("%s needs the HTTP server: give -http an address or %s off", t.flag, t.flag)
		default:
			o.srv.Transports = append(o.srv.Transports, t.t)
		}
	}
	// The browser SDK and the demo page, embedded in the binary (web/dist).
	switch demoOn, err := onOff("-demo", *demo); {
	case err != nil:
		return options{}, err
	case demoOn && *httpAddr == off:
		return options{}, errors.New("-demo needs the HTTP server: give -http an address or -demo off")
	case demoOn:
		if o.srv.Routes, err = web.Routes(); err != nil {
			return options{}, err
		}
	}
	if *tokenKey != "" {
		o.srv.Engine.TokenKey = []byte(*tokenKey)
	}
	o.srv.Engine.MaxFrameSize = *maxFrame
	o.srv.Engine.MaxFramesPerSecond = *maxFPS
	o.srv.Engine.GuestTokenTTL = *guestTTL
	o.srv.Engine.HeartbeatInterval = *heartbeat // the transports enforce both
	o.srv.Engine.IdleTimeout = *idle
	o.srv.Engine.MaxSessionsPerIP = *maxPerIP
	o.srv.Engine.MaxSessions = *maxSessions
	o.srv.Engine.LogSummaryInterval = *logSummary
	o.srv.Rooms.MaxRoomsCreatedPerUser = *maxRoomsPerUser
	o.srv.Rooms.MaxRooms = *maxRooms
	o.srv.Rooms.MaxClientTickRate = *maxClientHz
	o.srv.Rooms.EmptyRoomTTL = *emptyTTL
	o.srv.Rooms.Voice.BitrateBps = *voiceBitrate
	o.srv.Rooms.Voice.MaxMembers = *voiceMembers
	o.srv.Engine.GuestsPerIP = *guestsPerIP
	if *adminToken != "" && len(*adminToken) < 16 {
		return options{}, fmt.Errorf("-admin-token: %d bytes, want at least 16", len(*adminToken))
	}
	o.srv.Engine.AdminToken = *adminToken
	if *adminAddr != "" && *adminToken == "" {
		return options{}, errors.New("-admin-addr needs -admin-token (or TICKWIRE_ADMIN_TOKEN)")
	}
	o.srv.AdminAddr = *adminAddr
	for _, f := range []struct{ name, v string }{{"-origins", *origins}, {"-ws-origins", *wsOrigins}} {
		if _, err := httpapi.NewOriginPolicy(list(f.v)); err != nil {
			return options{}, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	o.srv.Engine.AllowedOrigins = list(*origins)
	for _, c := range list(*trusted) {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return options{}, fmt.Errorf("-trusted-proxies: %w", err)
		}
		o.srv.Engine.TrustedProxies = append(o.srv.Engine.TrustedProxies, p)
	}
	o.srv.Accounts.LoginAttemptsPerUser = *loginPerUser
	o.srv.Accounts.LoginAttemptsPerIP = *loginPerIP
	o.srv.Accounts.RegistrationsPerIP = *registerPerIP
	o.srv.Engine.RateLimitGrace = *rateGrace
	o.srv.Engine.ResumeWindow = *resumeWindow
	o.srv.Accounts.MaxConcurrentHashes = *maxHashes
	o.srv.Accounts.MaxHashQueue = *hashQueue
	o.srv.Accounts.MaxGuestRevocations = *guestRevocations
	o.srv.Social.MaxPendingInvites = *maxInvites
	sync, err := store.ParseSynchronous(*syncMode)
	if err != nil {
		return options{}, fmt.Errorf("-sqlite-synchronous: %w", err)
	}
	o.srv.Synchronous = sync
	o.shutdownTimeout = *shutdown
	switch {
	case *drain == 0:
		o.drainTimeout = server.DefaultDrainTimeout
	case *drain > 0:
		o.drainTimeout = *drain
	}
	o.srv.DrainTimeout = o.drainTimeout
	if o.tls, err = tlsf.config(*dataDir); err != nil {
		return options{}, err
	}
	if o.shutdownTimeout == 0 {
		o.shutdownTimeout = 10 * time.Second
	}
	return o, nil
}

// onOff reads an "on"/"off" flag.
func onOff(name, v string) (bool, error) {
	switch v {
	case "on":
		return true, nil
	case off:
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is not on or off", name, v)
}

// list splits a comma-separated flag, trimming blanks and dropping empty
// items.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// envInt and envDuration read a numeric default from the environment; an
// unparsable value is left for the flag package to report (as the flag's
// default it would be silently wrong, so it becomes -1 and is rejected).
func envInt(env func(string, string) string, name string) int {
	v := env(name, "")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

func envDuration(env func(string, string) string, name string) time.Duration {
	v := env(name, "")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return -1
	}
	return d
}

// run parses the configuration, starts the server and serves until ctx
// is cancelled (SIGINT/SIGTERM) or the engine stops on its own.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	hopts := &slog.HandlerOptions{Level: o.logLevel}
	var h slog.Handler = slog.NewTextHandler(stderr, hopts)
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, hopts)
	}
	log := slog.New(h)
	o.srv.Logger = log
	if o.srv.Engine.TokenKey == nil {
		log.Info("no token key given: using the one kept in the data directory", "file", filepath.Join(o.srv.DataDir, server.KeyFile))
	}

	ts, err := startTLS(o.tls, log)
	if err != nil {
		return err
	}
	if ts != nil {
		o.srv.TLS = ts.TLSConfig()
	}
	hup, stopHUP := reloadSignals(ts) // before Start: once "listening" is logged, SIGHUP reloads
	defer stopHUP()
	srv, err := server.Start(ctx, o.srv)
	if err != nil {
		return err
	}
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			waiting = false
			// The default action is back before anything is logged: a
			// second SIGTERM or SIGINT ends the process at once, mid-drain.
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			if o.drainTimeout > 0 {
				log.Info("signal received; draining", "drain_timeout", o.drainTimeout, "shutdown_timeout", o.shutdownTimeout)
				dctx, cancel := context.WithTimeout(context.Background(), o.drainTimeout)
				srv.Drain(dctx)
				cancel()
			}
			log.Info("signal received; shutting down", "timeout", o.shutdownTimeout)
		case <-srv.Done():
			log.Error("engine stopped", "err", srv.Err())
			waiting = false
		case <-hup:
			if err := ts.Reload(); err != nil {
				log.Error("TLS reload failed; the previous certificate stays", "err", err)
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := srv.Err(); err != nil && !errors.Is(err, engine.ErrServerClosed) {
		return err
	}
	return nil
}
