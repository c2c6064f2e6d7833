package wire

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
)

// Default listen addresses.
const (
	DefaultKCPAddr  = ":7777"
	DefaultTCPAddr  = ":7778"
	DefaultHTTPAddr = ":7780"
	DefaultDataDir  = "./data"
	// DBFile is the SQLite database file inside DataDir.
	DBFile = "tickwire.db"
	// KeyFile holds the token signing key (hex) inside DataDir when no
	// key is configured; it is created with mode 0600 on first start.
	KeyFile = "token.key"
)

// Config configures a server. Zero fields take the defaults above; a
// listener address of "off" disables that listener.
type Config struct {
	KCPAddr, TCPAddr, HTTPAddr string
	// DataDir holds the SQLite database (DataDir/tickwire.db).
	DataDir string
	// Engine configures sessions and limits. Its Logger defaults to
	// Config.Logger; Services may be pre-filled (they run before the
	// built-in ones); HeartbeatInterval and IdleTimeout are copied into
	// the transports' configs, which must leave them zero or equal (Start
	// fails otherwise: Welcome advertises the engine's values).
	Engine engine.Config
	KCP    kcp.Config
	TCP    tcp.Config
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
}

// Off disables a listener when given as its address.
const Off = "off"

// Server is a running tickwire server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	eng    *engine.Engine
	rooms  *rooms.Hub
	accts  *accounts.Service
	social *social.Service
	kcpL   *kcp.Listener
	tcpL   *tcp.Listener
	httpL  net.Listener
	httpS  *http.Server
	closer []func() error // closed last, in reverse order (databases...)

	wg      sync.WaitGroup
	runDone chan struct{} // closed when the engine's Run returned
	runErr  error         // Run's result, set before runDone is closed
	once    sync.Once
	shutErr error
}

// Start listens on every configured address, builds the engine and its
// services, and starts serving. On error everything opened is closed.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.KCPAddr == "" {
		cfg.KCPAddr = DefaultKCPAddr
	}
	if cfg.TCPAddr == "" {
		cfg.TCPAddr = DefaultTCPAddr
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Engine.Logger == nil {
		cfg.Engine.Logger = cfg.Logger.With("component", "engine")
	}
	if cfg.KCP.Logger == nil {
		cfg.KCP.Logger = cfg.Logger.With("component", "kcp")
	}
	if cfg.TCP.Logger == nil {
		cfg.TCP.Logger = cfg.Logger.With("component", "tcp")
	}
	// The transports enforce the heartbeat and idle timeout that Welcome
	// advertises: keep them in step.
	hb, idle := cfg.Engine.HeartbeatInterval, cfg.Engine.IdleTimeout
	if hb == 0 {
		hb = engine.DefaultHeartbeatInterval
	}
	if idle == 0 {
		idle = engine.DefaultIdleTimeout
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		want time.Duration
	}{
		{"KCP.HeartbeatInterval", &cfg.KCP.HeartbeatInterval, hb},
		{"KCP.IdleTimeout", &cfg.KCP.IdleTimeout, idle},
		{"TCP.HeartbeatInterval", &cfg.TCP.HeartbeatInterval, hb},
		{"TCP.IdleTimeout", &cfg.TCP.IdleTimeout, idle},
	} {
		switch *d.v {
		case 0:
			*d.v = d.want
		case d.want:
		default: // Welcome would advertise a value the transport does not enforce
			return nil, fmt.Errorf("wire: %s %v differs from the engine's %v that Welcome advertises; set the engine's", d.name, *d.v, d.want)
		}
	}

	s := &Server{cfg: cfg, log: cfg.Logger, runDone: make(chan struct{})}
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("wire: data dir: %w", err)
	}
	dbPath := filepath.Join(cfg.DataDir, DBFile)

	// ---- Services -------------------------------------------------------
	// Construct every feature service here and append it to services (and
	// any resource to close after the engine stops to s.closer). The
	// rooms and social/accounts services are inserted at this spot.
	services := append([]service.Service(nil), cfg.Engine.Services...)
	// Accounts: open and migrate the database (social's migrations run
	// after these, on the same db), then the accounts service, whose
	// revocation check guards every Hello. db (the *sql.DB), users (the
	// accounts.Store) and s.accts (the HTTP Authenticator) are there for
	// the services below.
	db, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	s.closer = append(s.closer, db.Close)
	if err := store.Migrate(ctx, db, accounts.Migrations()); err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	if cfg.Engine.TokenKey == nil {
		// One key for the engine and accounts, kept beside the database
		// so that tokens outlive a restart.
		key, err := loadOrCreateKey(filepath.Join(filepath.Dir(dbPath), KeyFile))
		if err != nil {
			return nil, fmt.Errorf("wire: %w", err)
		}
		cfg.Engine.TokenKey = key
	}
	signer, err := auth.NewSigner(cfg.Engine.TokenKey)
	if err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	users := accounts.NewSQLiteStore(db)
	acctCfg := cfg.Accounts
	acctCfg.Store, acctCfg.Signer = users, signer
	if acctCfg.Logger == nil {
		acctCfg.Logger = cfg.Logger.With("component", "accounts")
	}
	if acctCfg.Now == nil {
		acctCfg.Now = cfg.Engine.Now
	}
	if s.accts, err = accounts.New(ctx, acctCfg); err != nil {
		return nil, fmt.Errorf("wire: accounts: %w", err)
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
	// Social: its tables reference accounts' users, so its migrations
	// run after accounts'.
	if err := store.Migrate(ctx, db, social.Migrations()); err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	socialCfg := cfg.Social
	socialCfg.DB, socialCfg.Users, socialCfg.Auth = db, users, s.accts
	if socialCfg.Logger == nil {
		socialCfg.Logger = cfg.Logger.With("component", "social")
	}
	if socialCfg.Now == nil {
		socialCfg.Now = cfg.Engine.Now
	}
	if s.social, err = social.New(socialCfg); err != nil {
		return nil, fmt.Errorf("wire: social: %w", err)
	}
	services = append(services, s.social)
	roomsCfg := cfg.Rooms
	if roomsCfg.Logger == nil {
		roomsCfg.Logger = cfg.Logger.With("component", "rooms")
	}
	if s.rooms, err = rooms.New(roomsCfg); err != nil {
		return nil, fmt.Errorf("wire: rooms: %w", err)
	}
	for name, f := range cfg.RoomTypes {
		if err := s.rooms.RegisterRoomType(name, f); err != nil {
			return nil, fmt.Errorf("wire: %w", err)
		}
	}
	services = append(services, s.rooms)
	// ---- end of services ------------------------------------------------

	ecfg := cfg.Engine
	ecfg.Services = services
	if s.eng, err = engine.New(ecfg); err != nil {
		return nil, err
	}

	if cfg.KCPAddr != Off {
		if s.kcpL, err = kcp.Listen(cfg.KCPAddr, cfg.KCP); err != nil {
			return nil, fmt.Errorf("wire: kcp listen %s: %w", cfg.KCPAddr, err)
		}
		if err := s.eng.Serve(s.kcpL); err != nil {
			return nil, err
		}
	}
	if cfg.TCPAddr != Off {
		if s.tcpL, err = tcp.Listen(cfg.TCPAddr, cfg.TCP); err != nil {
			return nil, fmt.Errorf("wire: tcp listen %s: %w", cfg.TCPAddr, err)
		}
		if err := s.eng.Serve(s.tcpL); err != nil {
			return nil, err
		}
	}
	if cfg.HTTPAddr != Off {
		if s.httpL, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("wire: http listen %s: %w", cfg.HTTPAddr, err)
		}
		s.httpS = &http.Server{
			Handler:           s.eng.HTTPHandler(),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
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
	s.log.Info("tickwire listening", "kcp", s.KCPAddr(), "tcp", s.TCPAddr(), "http", s.HTTPAddr(), "data", cfg.DataDir)
	return s, nil
}

// closeAll releases what Start opened when Start fails.
func (s *Server) closeAll() {
	if s.kcpL != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.kcpL.Shutdown(ctx)
		cancel()
	}
	if s.tcpL != nil {
		_ = s.tcpL.Close()
	}
	if s.httpL != nil {
		_ = s.httpL.Close()
	}
	for i := len(s.closer) - 1; i >= 0; i-- {
		_ = s.closer[i]()
	}
}

// KCPAddr is the bound KCP (UDP) address, or "" when disabled.
func (s *Server) KCPAddr() string {
	if s.kcpL == nil {
		return ""
	}
	return s.kcpL.Addr().String()
}

// TCPAddr is the bound TCP address, or "" when disabled.
func (s *Server) TCPAddr() string {
	if s.tcpL == nil {
		return ""
	}
	return s.tcpL.Addr().String()
}

// HTTPAddr is the bound HTTP address, or "" when disabled.
func (s *Server) HTTPAddr() string {
	if s.httpL == nil {
		return ""
	}
	return s.httpL.Addr().String()
}

// HTTPURL is the base URL of the HTTP API ("http://host:port").
func (s *Server) HTTPURL() string {
	if s.httpL == nil {
		return ""
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

// Shutdown stops the HTTP server, shuts the engine down (every session is
// told CodeServerShutdown), closes the transports and the services'
// resources, and waits for every goroutine, bounded by ctx. It is
// idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		var errs []error
		if s.httpS != nil {
			if err := s.httpS.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("http: %w", err))
				_ = s.httpS.Close()
			}
		}
		if err := s.eng.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("engine: %w", err))
		}
		if s.kcpL != nil {
			if err := s.kcpL.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("kcp: %w", err))
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
