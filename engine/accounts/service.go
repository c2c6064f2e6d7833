package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTokenTTL             = 24 * time.Hour
	DefaultLoginFailuresPerUser = 5
	DefaultLoginFailuresPerIP   = 20
	DefaultRegistrationsPerIP   = 10
	DefaultRateWindow           = time.Minute
	DefaultRateLimitKeys        = 10_000
	DefaultPurgeInterval        = 10 * time.Minute
)

// Config configures a Service. Store and Signer are required; every other
// zero field takes the default named beside it.
type Config struct {
	Store  Store
	Signer *auth.Signer // the engine's signer, so the realtime Hello accepts the tokens
	// TokenTTL is the lifetime of tokens from register, login and refresh
	// (default 24h).
	TokenTTL time.Duration
	// Argon2 are the password hashing costs (default DefaultArgon2()).
	Argon2 Argon2Params
	// MaxConcurrentHashes bounds the argon2id computations in flight, and
	// so the memory they take (default GOMAXPROCS); requests beyond it wait
	// for a slot or for their context.
	MaxConcurrentHashes int
	// LoginFailuresPerUser and LoginFailuresPerIP are the failed logins a
	// username (any IP) and an IP (any username) may have per RateWindow,
	// as token buckets of that burst refilling over RateWindow (defaults 5
	// and 20 per minute). RegistrationsPerIP bounds register attempts per
	// IP the same way (default 10).
	LoginFailuresPerUser int
	LoginFailuresPerIP   int
	RegistrationsPerIP   int
	RateWindow           time.Duration
	// RateLimitKeys bounds each limiter's map; the least recently used key
	// is evicted past it (default 10,000).
	RateLimitKeys int
	// ClientIP returns the rate-limit key of a request's client (default:
	// the IP of RemoteAddr, IPv6 cut to its /64). Behind a trusted proxy,
	// read its header here.
	ClientIP func(*http.Request) string
	// MaxBodyBytes bounds request bodies (default 4 KiB).
	MaxBodyBytes int64
	// PurgeInterval is how often Run forgets expired revocations (default
	// 10 minutes).
	PurgeInterval time.Duration
	// Logger receives the service's logs (default: discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ErrBadConfig is returned by New for an invalid Config.
var ErrBadConfig = errors.New("accounts: bad config")

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil || c.Signer == nil {
		return Config{}, fmt.Errorf("%w: Store and Signer are required", ErrBadConfig)
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	c.Argon2 = c.Argon2.withDefaults()
	if err := c.Argon2.validate(); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	defInt(&c.MaxConcurrentHashes, runtime.GOMAXPROCS(0))
	defInt(&c.LoginFailuresPerUser, DefaultLoginFailuresPerUser)
	defInt(&c.LoginFailuresPerIP, DefaultLoginFailuresPerIP)
	defInt(&c.RegistrationsPerIP, DefaultRegistrationsPerIP)
	defInt(&c.RateLimitKeys, DefaultRateLimitKeys)
	if c.RateWindow == 0 {
		c.RateWindow = DefaultRateWindow
	}
	if c.PurgeInterval == 0 {
		c.PurgeInterval = DefaultPurgeInterval
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.ClientIP == nil {
		c.ClientIP = RemoteIP
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.TokenTTL < time.Minute:
		return Config{}, fmt.Errorf("%w: TokenTTL %v below one minute", ErrBadConfig, c.TokenTTL)
	case c.MaxConcurrentHashes < 0, c.LoginFailuresPerUser < 0, c.LoginFailuresPerIP < 0,
		c.RegistrationsPerIP < 0, c.RateLimitKeys < 0, c.MaxBodyBytes < 0:
		return Config{}, fmt.Errorf("%w: limits must not be negative", ErrBadConfig)
	case c.RateWindow < 0, c.PurgeInterval < 0:
		return Config{}, fmt.Errorf("%w: durations must not be negative", ErrBadConfig)
	}
	return c, nil
}

// RemoteIP is the default Config.ClientIP: the IP of r.RemoteAddr, with
// IPv6 addresses cut to their /64 (one host usually holds a whole /64).
func RemoteIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64) // never fails for a valid IPv6 address and 64 bits
		return p.String()
	}
	return a.String()
}

// Service is the accounts HTTP API and the revocation check of the
// realtime Hello. It is a service.Service that handles no frame kinds, so
// it plugs into engine.Config.Services for its routes (service.Router) and
// its purge loop (service.Runner); its TokenCheck goes into
// engine.Config.TokenCheck.
type Service struct {
	cfg       Config
	store     Store
	signer    *auth.Signer
	log       *slog.Logger
	dummyHash []byte        // verified against when the user is unknown, so timing matches
	hashSlots chan struct{} // semaphore of MaxConcurrentHashes

	userFails *limiter // failed logins per username key
	ipFails   *limiter // failed logins per client IP
	ipRegs    *limiter // register attempts per client IP

	mu      sync.Mutex           // guards revoked
	revoked map[string]time.Time // token id -> token expiry
}

var (
	_ service.Service = (*Service)(nil)
	_ service.Router  = (*Service)(nil)
	_ service.Runner  = (*Service)(nil)
)

// New builds a Service and loads the revocations still in force from the
// store.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:       cfg,
		store:     cfg.Store,
		signer:    cfg.Signer,
		log:       cfg.Logger,
		dummyHash: HashPassword(cfg.Argon2, "tickwire dummy password"),
		hashSlots: make(chan struct{}, cfg.MaxConcurrentHashes),
		userFails: newLimiter(cfg.LoginFailuresPerUser, cfg.RateWindow, cfg.RateLimitKeys),
		ipFails:   newLimiter(cfg.LoginFailuresPerIP, cfg.RateWindow, cfg.RateLimitKeys),
		ipRegs:    newLimiter(cfg.RegistrationsPerIP, cfg.RateWindow, cfg.RateLimitKeys),
		revoked:   make(map[string]time.Time),
	}
	list, err := cfg.Store.RevokedTokens(ctx, cfg.Now())
	if err != nil {
		return nil, err
	}
	for _, t := range list {
		s.revoked[t.TokenID] = t.ExpiresAt
	}
	return s, nil
}

// Store returns the user store the service uses.
func (s *Service) Store() Store { return s.store }

// Name implements service.Service.
func (s *Service) Name() string { return "accounts" }

// Handles implements service.Service: accounts has no frame kinds.
func (s *Service) Handles(frame.Kind) bool { return false }

// PeerOpened implements service.Service (nothing to do).
func (s *Service) PeerOpened(service.Peer) {}

// HandleFrame implements service.Service; it is never called, since
// Handles claims no kind.
func (s *Service) HandleFrame(time.Time, service.Peer, netcode.Channel, frame.Kind, []byte) (uint32, error) {
	return 0, netcode.CodeUnknownKind
}

// PeerClosed implements service.Service (nothing to do).
func (s *Service) PeerClosed(service.Peer) {}

// Run forgets expired revocations every PurgeInterval, in memory and in the
// store, until ctx ends. It implements service.Runner.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("purging revoked tokens", "err", err)
			}
		}
	}
}

// Purge forgets the revocations of tokens that have expired (they are
// refused as expired anyway), in memory and in the store, and reports how
// many went from memory.
func (s *Service) Purge(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	if _, err := s.store.PurgeRevokedTokens(ctx, now); err != nil {
		return 0, err
	}
	n := 0
	s.mu.Lock()
	for id, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, id)
			n++
		}
	}
	s.mu.Unlock()
	return n, nil
}

// RevokedCount is the number of revocations held in memory.
func (s *Service) RevokedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.revoked)
}

// TokenCheck refuses revoked tokens with ErrTokenRevoked
// (CodeTokenRevoked). It goes into engine.Config.TokenCheck and is what
// Authenticate applies after verifying the signature. It never blocks on
// I/O.
func (s *Service) TokenCheck(_ context.Context, c auth.Claims) error {
	s.mu.Lock()
	_, revoked := s.revoked[c.TokenID]
	s.mu.Unlock()
	if revoked {
		return ErrTokenRevoked
	}
	return nil
}

// Authenticate reads the request's "Authorization: Bearer <token>",
// verifies it with the signer and refuses revoked tokens. Errors are coded:
// CodeNotAuthenticated (no bearer token), CodeBadToken, CodeTokenExpired,
// CodeTokenRevoked. Other HTTP services (social) use it for their routes.
func (s *Service) Authenticate(r *http.Request) (auth.Claims, error) {
	token, ok := BearerToken(r)
	if !ok {
		return auth.Claims{}, ErrNotAuthenticated
	}
	c, err := s.signer.Verify(token, s.cfg.Now())
	if err != nil {
		return auth.Claims{}, err
	}
	if err := s.TokenCheck(r.Context(), c); err != nil {
		return auth.Claims{}, err
	}
	return c, nil
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (the scheme is case-insensitive).
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// revoke marks a token revoked, in memory and then in the store. It
// returns ErrTokenRevoked if the token was revoked already, so that two
// concurrent refreshes of one token cannot both succeed.
func (s *Service) revoke(ctx context.Context, c auth.Claims) error {
	s.mu.Lock()
	if _, done := s.revoked[c.TokenID]; done {
		s.mu.Unlock()
		return ErrTokenRevoked
	}
	s.revoked[c.TokenID] = c.Expiry()
	s.mu.Unlock()
	return s.store.RevokeToken(ctx, RevokedToken{TokenID: c.TokenID, UserID: c.UserID, ExpiresAt: c.Expiry()})
}

// Revoke revokes a token by its claims (an admin tool, or a service that
// ends a user's sessions). Revoking twice is not an error.
func (s *Service) Revoke(ctx context.Context, c auth.Claims) error {
	if err := s.revoke(ctx, c); err != nil && !errors.Is(err, ErrTokenRevoked) {
		return err
	}
	return nil
}

// acquireHash waits for a hashing slot; release with releaseHash.
func (s *Service) acquireHash(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &netcode.CodedError{Code: netcode.CodeServerShutdown, Msg: "request cancelled while waiting to hash", Err: ctx.Err()}
	}
}

func (s *Service) releaseHash() { <-s.hashSlots }

// issue signs a token for a registered user.
func (s *Service) issue(u User) (TokenResponse, error) {
	tok, c, err := s.signer.Issue(auth.Claims{UserID: u.ID, Name: u.DisplayName}, s.cfg.Now(), s.cfg.TokenTTL)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("accounts: issue token: %w", err)
	}
	return TokenResponse{Token: tok, UserID: u.ID, Username: u.Username, Name: u.DisplayName, ExpiresAt: c.Expiry().UTC()}, nil
}
