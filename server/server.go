package server

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
	"github.com/tickwire/tickwire/room"
)

// Defaults for zero Config fields.
const (
	DefaultHTTPAddr = ":7780"
	DefaultDataDir  = "./data"
	// DBFile is the SQLite database file inside DataDir.
	DBFile = "tickwire.db"
	// KeyFile holds the token signing key (hex) inside DataDir when no
	// key is configured; it is created with mode 0600 on first start.
	KeyFile = "token.key"
)

// Config configures a server. Zero fields take the defaults above.
type Config struct {
	// Transports are the ways clients connect, each opened by Start (in
	// order) and served by the engine. A transport that needs HTTP mounts
	// its routes on the HTTP server. None means HTTP only.
	Transports []netcode.Transport
	// HTTPAddr is the HTTP API's address (default ":7780"); Off disables
	// the HTTP server.
	HTTPAddr string
	// DataDir holds the SQLite database (DataDir/tickwire.db) and the
	// token key; it is created with mode 0700.
	DataDir string
	// Synchronous is the SQLite durability setting (default
	// store.SyncFull: a committed, acknowledged write survives power
	// loss; store.SyncNormal trades that for speed).
	Synchronous store.Synchronous
	// StoreDSN chooses the store of accounts, tokens, friends, groups and
	// messages. Empty (the default) is SQLite in DataDir: one node, no
	// external service. A postgres:// (or postgresql://) URL is a
	// PostgreSQL database, migrated at start, that the nodes of a cluster
	// share (docs/CLUSTER.md, "Store"): the token signing key then lives
	// in it too, unless Engine.TokenKey is given, and the login, register
	// and guest limits are counted in it, across nodes. Anything else is
	// refused with ErrBadConfig. Synchronous does not apply to it.
	StoreDSN string
	// Engine configures sessions and limits. Its Logger defaults to
	// Config.Logger; Services may be pre-filled (they run before the
	// built-in ones); its HeartbeatInterval and IdleTimeout are given to
	// every transport, which enforces them (see netcode.Env.Timeouts).
	Engine engine.Config
	Logger *slog.Logger
	// Rooms configures the room hub; RoomTypes are registered on it
	// (besides the built-in "relay") before the server accepts sessions.
	Rooms     rooms.Config
	RoomTypes map[string]room.Factory
	// Accounts configures register/login (argon2id costs, rate limits,
	// token TTL...). Its Store and Signer are set by Start (the SQLite
	// database and the engine's token key); Logger and Now default to the
	// server's.
	Accounts accounts.Config
	// Social configures friends, groups, messages and presence. Its DB,
	// Users and Auth are set by Start; Logger and Now default to the
	// server's.
	Social social.Config
	// Routes are extra HTTP handlers by http.ServeMux pattern (web.Routes
	// gives the browser SDK and demo page's: "GET /{$}", "/web/"). They
	// are mounted on the one HTTP server beside the API and the
	// transports' routes, behind the same middleware (httpapi.Wrap: the
	// client address resolved once, the API's common headers, which a
	// handler may replace), and need the HTTP server.
	//
	// Precedence is net/http's: the most specific pattern wins. The
	// engine's API (and its services' routes) sits behind "/", so any
	// matching Route would win over it; to keep a Route from capturing
	// the API, Start refuses a pattern whose path does not begin with a
	// literal segment of its own, and the segments "healthz" and "v<N>"
	// (/v1/...) are the API's. "/{$}" (the root path alone, which the API
	// does not answer) is allowed. A pattern that is malformed or
	// conflicts with another route (a transport's included) is refused
	// with ErrBadConfig too.
	Routes map[string]http.Handler
	// TLS, when set, encrypts the HTTP API (HTTPS: WebSocket becomes
	// WSS, long-polling and WebRTC signaling go over HTTPS) and the
	// transports that take it (the TCP fallback, through
	// netcode.Env.TLS). netcode/tlsconf builds one from certificate
	// files, a self-signed development certificate or ACME. MinVersion
	// defaults to TLS 1.3; HTTP/2 is not offered (the WebSocket upgrade
	// and long-polling use HTTP/1.1). Nil serves plain HTTP and TCP:
	// bearer tokens then cross the network in clear (docs/TLS.md).
	TLS *tls.Config
	// AdminAddr, when set, opens the admin listener there (off by
	// default; cmd/tickwire suggests the loopback 127.0.0.1:7781): GET
	// /metrics (Prometheus), /debug/pprof/ and GET /v1/stats, every
	// route behind Engine.AdminToken, which must then be at least
	// MinAdminTokenLen bytes (docs/OPERATIONS.md). Plain HTTP: keep it on
	// loopback or a private network.
	AdminAddr string
	// Cluster, when Cluster.NATS or Cluster.EmbeddedNATS is set, makes
	// the server one node of a cluster over NATS (docs/CLUSTER.md); off
	// by default.
	Cluster ClusterConfig
	// DrainTimeout bounds how long a drain started by the admin API
	// (POST /v1/admin/drain) lets rooms run before the server shuts down;
	// 0 means DefaultDrainTimeout (docs/OPERATIONS.md, "Drain").
	DrainTimeout time.Duration
}

// Off disables the HTTP server when given as HTTPAddr.
const Off = "off"

// Server is a running tickwire server.
type Server struct {
	cfg       Config
	log       *slog.Logger
	eng       *engine.Engine
	rooms     *rooms.Hub
	accts     *accounts.Service
	social    *social.Service
	lns       []listener // opened transports, in Config.Transports order
	httpL     net.Listener
	httpS     *http.Server
	closer    []func() error // closed last, in reverse order (databases...)
	storeKind string         // "sqlite" or "postgres"

	reg        *prometheus.Registry   // the server's metrics (Metrics)
	httpm      *httpMetrics           // the API port's requests
	admRefused *prometheus.CounterVec // admin requests refused, by reason
	admin      *admin                 // nil when Config.AdminAddr is empty
	admActions *prometheus.CounterVec // admin API calls, by action and result (ops.go)
	cluster    *clusterParts          // nil on a single node (cluster.go)

	wg      sync.WaitGroup
	runDone chan struct{} // closed when the engine's Run returned
	runErr  error         // Run's result, set before runDone is closed
	once    sync.Once
	shutErr error
}

// listener is one opened transport.
type listener struct {
	name string
	l    netcode.Listener
}

// Start listens on every configured address, builds the engine and its
// services, and starts serving. On error everything opened is closed.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Engine.Logger == nil {
		cfg.Engine.Logger = cfg.Logger.With("component", "engine")
	}
	for i, t := range cfg.Transports {
		if t == nil {
			return nil, fmt.Errorf("server: Transports[%d] is nil", i)
		}
	}
	if err := checkRoutes(cfg.Routes, cfg.HTTPAddr); err != nil {
		return nil, err
	}
	if err := checkAdmin(cfg); err != nil {
		return nil, err
	}

	s := &Server{cfg: cfg, log: cfg.Logger, runDone: make(chan struct{}), httpm: newHTTPMetrics()}
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()
	// The data directory holds the database and the token key: private
	// to the server's user, narrowed if it already existed wider.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}

	// The HTTP port is bound before the services: a cluster node
	// advertises its URL (cluster.go).
	if cfg.HTTPAddr != Off {
		if s.httpL, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("server: http listen %s: %w", cfg.HTTPAddr, err)
		}
		if cfg.TLS != nil {
			s.httpL = tls.NewListener(s.httpL, httpsConfig(cfg.TLS))
		}
	}

	// ---- Services -------------------------------------------------------
	// Construct every feature service here and append it to services (and
	// any resource to close after the engine stops to s.closer). The
	// rooms and social/accounts services are inserted at this spot.
	services := append([]service.Service(nil), cfg.Engine.Services...)
	// The store: SQLite in DataDir, or the PostgreSQL database a cluster
	// shares (server/store.go), migrated, with the token key. users (the
	// accounts.Store) and s.accts (the HTTP Authenticator) are there for
	// the services below.
	st, err := openStores(ctx, cfg)
	s.closer, s.storeKind = append(s.closer, st.closers...), st.kind
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.Engine.TokenKey == nil {
		cfg.Engine.TokenKey = st.tokenKey
	}
	if cfg.Engine.SharedLimits == nil {
		cfg.Engine.SharedLimits = st.shared
	}
	signer, err := auth.NewSigner(cfg.Engine.TokenKey)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	users := st.users
	acctCfg := cfg.Accounts
	acctCfg.Store, acctCfg.Signer = users, signer
	if acctCfg.Shared == nil {
		acctCfg.Shared = st.shared
	}
	if acctCfg.Logger == nil {
		acctCfg.Logger = cfg.Logger.With("component", "accounts")
	}
	if acctCfg.Now == nil {
		acctCfg.Now = cfg.Engine.Now
	}
	if s.accts, err = accounts.New(ctx, acctCfg); err != nil {
		return nil, fmt.Errorf("server: accounts: %w", err)
	}
	services = append(services, s.accts)
	if check := cfg.Engine.TokenCheck; check != nil {
		cfg.Engine.TokenCheck = func(ctx context.Context, c auth.Claims) error {
			if err := s.accts.TokenCheck(ctx, c); err != nil {
				return err
			}
			return check(ctx, c)
		}
	} else {
		cfg.Engine.TokenCheck = s.accts.TokenCheck
	}
	// The hub is made first: the social service's signaling relay asks it
	// which rooms a session is in.
	roomsCfg := cfg.Rooms
	if err := s.startCluster(cfg, &roomsCfg); err != nil {
		return nil, err
	}
	if roomsCfg.Logger == nil {
		roomsCfg.Logger = cfg.Logger.With("component", "rooms")
	}
	if s.rooms, err = rooms.New(roomsCfg); err != nil {
		return nil, fmt.Errorf("server: rooms: %w", err)
	}
	socialCfg := cfg.Social
	socialCfg.Users, socialCfg.Auth = users, s.accts
	if socialCfg.Store == nil && socialCfg.DB == nil {
		socialCfg.Store = st.social
	}
	if socialCfg.Rooms == nil {
		socialCfg.Rooms = s.rooms
	}
	if socialCfg.Logger == nil {
		socialCfg.Logger = cfg.Logger.With("component", "social")
	}
	if socialCfg.Now == nil {
		socialCfg.Now = cfg.Engine.Now
	}
	broker := s.socialBroker(&socialCfg)
	if s.social, err = social.New(socialCfg); err != nil {
		return nil, fmt.Errorf("server: social: %w", err)
	}
	s.wireSocialCluster(broker)
	services = append(services, s.social)
	for name, f := range cfg.RoomTypes {
		if err := s.rooms.RegisterRoomType(name, f); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	services = append(services, s.rooms)
	if s.cluster != nil {
		services = append(services, clusterService{s.cluster})
	}
	// ---- end of services ------------------------------------------------

	ecfg := cfg.Engine
	ecfg.Services = services
	if s.eng, err = engine.New(ecfg); err != nil {
		return nil, err
	}
	if s.reg, err = s.newRegistry(); err != nil {
		return nil, err
	}
	if err := s.registerCluster(); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	env := netcode.Env{
		HeartbeatInterval: s.eng.Config().HeartbeatInterval,
		IdleTimeout:       s.eng.Config().IdleTimeout,
		MaxMessageSize:    s.eng.Config().MaxFrameSize,
		VerifyToken:       s.eng.VerifyToken,
		Admit:             s.eng.Admit,
		ClientAddr:        clientAddr,
		AllowedOrigins:    s.eng.Config().AllowedOrigins,
		TLS:               cfg.TLS,
	}
	if cfg.HTTPAddr != Off {
		env.HTTP = mux
	}
	for _, t := range cfg.Transports {
		env.Logger = cfg.Logger.With("component", t.Name())
		l, err := t.Listen(env)
		if err != nil {
			return nil, fmt.Errorf("server: %s: %w", t.Name(), err)
		}
		s.lns = append(s.lns, listener{name: t.Name(), l: l})
		if err := s.registerListener(l); err != nil {
			return nil, err
		}
		if err := s.eng.Serve(l); err != nil {
			return nil, err
		}
	}
	if cfg.HTTPAddr != Off {
		// Transports' routes and Config.Routes sit beside the engine's on
		// one mux (the more specific pattern wins), behind the same
		// middleware: one client address rule (trusted proxies), one
		// origin policy for CORS (the one the WebSocket upgrade checks,
		// env.AllowedOrigins), counted in the engine's stats, the same
		// headers. Config.Routes go after the transports' so that a
		// conflict is reported here, as a Config error.
		for _, l := range s.lns {
			if ans, ok := l.l.(netcode.AudioAnswerer); ok {
				if err := handle(mux, "POST "+VoicePath, &voiceHandler{accts: s.accts, rooms: s.rooms, ans: ans}); err != nil {
					return nil, err
				}
				break
			}
		}
		for _, p := range slices.Sorted(maps.Keys(cfg.Routes)) {
			if err := handle(mux, p, cfg.Routes[p]); err != nil {
				return nil, err
			}
		}
		mux.HandleFunc("GET /readyz", s.handleReady)
		mux.Handle("/", s.eng.HTTPHandler())
		hcfg := s.eng.HTTPConfig()
		hcfg.Logger = cfg.Logger.With("component", "http")
		s.httpS = &http.Server{
			Handler:           httpapi.Wrap(s.httpm.wrap(mux), hcfg),
			ConnContext:       httpapi.ConnContext, // the long-poll transport reads its client's RTT from the socket
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          httpapi.ServerErrorLog(cfg.Logger.Handler(), hcfg.ServerLog),
		}
	}

	if cfg.AdminAddr != "" {
		if err := s.startAdmin(); err != nil {
			return nil, err
		}
	}

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runErr = s.eng.Run(context.WithoutCancel(ctx))
		close(s.runDone)
	}()
	if s.httpS != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.httpS.Serve(s.httpL); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http server stopped", "err", err)
			}
		}()
	}
	attrs := []any{"http", s.HTTPAddr(), "admin", s.AdminAddr(), "data", cfg.DataDir, "store", s.storeKind, "tls", cfg.TLS != nil}
	for _, l := range s.lns {
		attrs = append(attrs, l.name, l.l.Addr().String())
	}
	s.log.Info("tickwire listening", attrs...)
	if cfg.TLS == nil && s.exposedInClear() {
		s.log.Warn("TLS is off: tokens and passwords cross HTTP and TCP in clear; fine on loopback, not on a network (docs/TLS.md)")
	}
	return s, nil
}

// closeAll releases what Start opened when Start fails.
func (s *Server) closeAll() {
	for _, l := range s.lns {
		_ = l.l.Close() // releasing on a failed start; its error changes nothing
		if sd, ok := l.l.(netcode.Shutdowner); ok {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = sd.Shutdown(ctx) // a listener that started nothing has nothing to wait for; the start error is reported
			cancel()
		}
	}
	if s.httpL != nil {
		_ = s.httpL.Close() // releasing on a failed start; its error changes nothing
	}
	if s.admin != nil {
		_ = s.admin.srv.Close() // releasing on a failed start; its error changes nothing
	}
	for i := len(s.closer) - 1; i >= 0; i-- {
		_ = s.closer[i]() // releasing on a failed start: the start error is the one reported
	}
}

// Addr is the bound address of the first transport named name ("kcp",
// "tcp"...), or "" when there is none.
func (s *Server) Addr(name string) string {
	for _, l := range s.lns {
		if l.name == name {
			return l.l.Addr().String()
		}
	}
	return ""
}

// HTTPAddr is the bound HTTP address, or "" when disabled.
func (s *Server) HTTPAddr() string {
	if s.httpL == nil {
		return ""
	}
	return s.httpL.Addr().String()
}

// HTTPURL is the base URL of the HTTP API ("http://host:port", or
// "https://host:port" with Config.TLS).
func (s *Server) HTTPURL() string {
	if s.httpL == nil {
		return ""
	}
	if s.cfg.TLS != nil {
		return "https://" + s.HTTPAddr()
	}
	return "http://" + s.HTTPAddr()
}

// Engine returns the server's engine.
func (s *Server) Engine() *engine.Engine { return s.eng }

// Rooms returns the server's room hub (register room types, create and
// close rooms, read tick statistics).
func (s *Server) Rooms() *rooms.Hub { return s.rooms }

// Social returns the social service (friends, groups, messages, presence).
func (s *Server) Social() *social.Service { return s.social }

// Accounts returns the accounts service (Authenticate for HTTP handlers,
// Revoke, the user store behind it).
func (s *Server) Accounts() *accounts.Service { return s.accts }

// Shutdown shuts the engine down (every session is told
// CodeServerShutdown, over every transport), waits for the transports,
// stops the HTTP server, closes the services' resources, and waits for
// every goroutine, bounded by ctx. It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		var errs []error
		// The engine first, while the HTTP server still runs: transports
		// over HTTP (long-poll) deliver the server_shutdown close record
		// on a request, and /healthz answers "shutting_down" meanwhile.
		if err := s.eng.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("engine: %w", err))
		}
		for _, l := range s.lns {
			if sd, ok := l.l.(netcode.Shutdowner); ok {
				if err := sd.Shutdown(ctx); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", l.name, err))
				}
			}
		}
		if s.httpS != nil {
			if err := s.httpS.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("http: %w", err))
				_ = s.httpS.Close() // past the deadline: cut what is left
			}
		}
		if s.admin != nil {
			// Last of the listeners, so that a scrape can watch the drain.
			if err := s.admin.srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("admin: %w", err))
				_ = s.admin.srv.Close() // past the deadline: cut what is left
			}
		}
		s.wg.Wait()
		if err := s.runErr; err != nil && !errors.Is(err, engine.ErrServerClosed) {
			errs = append(errs, err)
		}
		for i := len(s.closer) - 1; i >= 0; i-- {
			if err := s.closer[i](); err != nil {
				errs = append(errs, err)
			}
		}
		s.shutErr = errors.Join(errs...)
		s.log.Info("tickwire stopped")
	})
	return s.shutErr
}

// Done is closed when the engine has stopped: after Shutdown, or on its
// own when a service failed (call Shutdown then to release the rest).
func (s *Server) Done() <-chan struct{} { return s.runDone }

// Err is why the engine stopped (engine.ErrServerClosed after a normal
// shutdown); nil while it runs.
func (s *Server) Err() error {
	select {
	case <-s.runDone:
		return s.runErr
	default:
		return nil
	}
}

// checkRoutes refuses Config.Routes that could capture the API's paths
// (see Config.Routes), have no handler, or have no HTTP server to run on.
// Conflicts between patterns are found when they are mounted (handle).
func checkRoutes(routes map[string]http.Handler, httpAddr string) error {
	if len(routes) > 0 && httpAddr == Off {
		return fmt.Errorf("%w: Routes need the HTTP server (HTTPAddr is %q)", ErrBadConfig, Off)
	}
	for _, p := range slices.Sorted(maps.Keys(routes)) {
		if routes[p] == nil {
			return fmt.Errorf("%w: Routes[%q] has no handler", ErrBadConfig, p)
		}
		if err := checkPattern(p); err != nil {
			return fmt.Errorf("%w: Routes[%q]: %w", ErrBadConfig, p, err)
		}
	}
	return nil
}

// checkPattern reads a ServeMux pattern, "[METHOD ][HOST]/[PATH]", far
// enough to find its first path segment: it must be a literal that is
// not one of the API's, unless the pattern is the root alone ("/{$}").
// The method and host do not matter: a pattern with either is more
// specific than the API's "/", so it wins just the same.
func checkPattern(p string) error {
	rest := p
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		rest = strings.TrimLeft(rest[i:], " \t")
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return errors.New("no path")
	}
	path := rest[i:]
	if path == "/{$}" {
		return nil
	}
	seg, _, _ := strings.Cut(path[1:], "/")
	switch {
	case seg == "":
		return errors.New("matches every path, the API's included")
	case strings.ContainsAny(seg, "{}"):
		return errors.New("begins with a wildcard, which matches the API's paths")
	case apiSegment(seg):
		return fmt.Errorf("/%s belongs to the API", seg)
	}
	return nil
}

// apiSegment reports whether a first path segment is the API's: "healthz"
// or "readyz" or a version ("v1", "v2"...).
func apiSegment(seg string) bool {
	if seg == "healthz" || seg == "readyz" {
		return true
	}
	if len(seg) < 2 || seg[0] != 'v' {
		return false
	}
	for _, c := range seg[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// handle mounts h at pattern on mux. ServeMux.Handle panics on a
// malformed pattern or one that conflicts with a registered route; that
// is a mistake in Config, so it becomes Start's error instead of a crash.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: Routes[%q]: %v", ErrBadConfig, pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// clientAddr is the client address of an HTTP request as the middleware
// resolved it (the peer, or behind a trusted proxy the forwarded client),
// for the transports' netcode.Env.
func clientAddr(r *http.Request) net.Addr {
	ip := httpapi.ClientIP(r)
	if !ip.IsValid() {
		return nil
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))
}

// loadOrCreateKey reads a hex signing key from path, or creates one there
// (mode 0600) when the file does not exist.
func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("token key file %s: want at least 32 hex-encoded bytes", path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("token key file: %w", err)
	}
	key := auth.RandomKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("token key file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("token key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("token key file: %w", err)
	}
	return key, nil
}
