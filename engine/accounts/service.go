package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/limit"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTokenTTL             = 24 * time.Hour
	DefaultLoginAttemptsPerUser = 5
	DefaultLoginAttemptsPerIP   = 20
	DefaultRegistrationsPerIP   = 10
	DefaultRateWindow           = time.Minute
	DefaultRateLimitKeys        = 10_000
	DefaultPurgeInterval        = 10 * time.Minute
	DefaultRevocationSync       = time.Second
	DefaultMaxHashQueue         = 64
	DefaultMaxGuestRevocations  = 100_000
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
	// so the memory they take (default GOMAXPROCS). Login and register
	// both hash through this pool.
	MaxConcurrentHashes int
	// MaxHashQueue bounds the requests waiting for a hashing slot
	// (default 64; negative: none wait). A request that finds the queue
	// full is refused at once with CodeServerBusy (HTTP 503, Retry-After)
	// and counted in Stats.HashQueueFull.
	MaxHashQueue int
	// LoginAttemptsPerUser and LoginAttemptsPerIP are the login attempts a
	// username (any IP) and an IP (any username) may make per RateWindow,
	// as token buckets of that burst refilling over RateWindow (defaults 5
	// and 20 per minute). The tokens are taken before any hashing, so a
	// refused attempt (CodeLoginRateLimited) costs no argon2id work; every
	// attempt counts, successful or not. RegistrationsPerIP bounds
	// register attempts per IP the same way (default 10; CodeRateLimited).
	LoginAttemptsPerUser int
	LoginAttemptsPerIP   int
	RegistrationsPerIP   int
	RateWindow           time.Duration
	// RateLimitKeys bounds each limiter's map; the least recently used key
	// is evicted past it (default 10,000).
	RateLimitKeys int
	// Shared, when set, counts the login attempts per user and per IP and
	// the registrations per IP there instead of in memory, so that the
	// limits hold across every node of a cluster (server sets the
	// PostgreSQL store's limiter). It counts in fixed windows of
	// RateWindow: up to twice a limit can pass around a window's edge,
	// never more. A failing Shared refuses the attempt (the error is
	// returned: a storage failure, not a rate limit).
	Shared limit.Shared
	// ClientIP returns the rate-limit key of a request's client (default:
	// the IP of RemoteAddr, IPv6 cut to its /64). Behind a trusted proxy,
	// read its header here.
	ClientIP func(*http.Request) string
	// MaxBodyBytes bounds request bodies (default 4 KiB).
	MaxBodyBytes int64
	// PurgeInterval is how often Run forgets expired revocations (default
	// 10 minutes).
	PurgeInterval time.Duration
	// RevocationSync is how often Run reads the revocations other nodes
	// recorded, when the Store is shared (implements SharedRevocations,
	// as the PostgreSQL store does): a token logged out on one node is
	// refused on every node within about this long (default 1s). Unused
	// with SQLite (one node).
	RevocationSync time.Duration
	// MaxGuestRevocations bounds the logged-out (or refreshed) guest
	// tokens remembered until they expire (default 100,000). Guest
	// revocations live in memory only, never in the store: a guest has no
	// account to protect across a restart. When the set is full (after
	// forgetting expired ones), a guest logout or refresh is refused with
	// CodeServerBusy and counted in Stats.GuestRevocationsFull.
	MaxGuestRevocations int
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
		return Config{}, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	defInt(&c.MaxConcurrentHashes, runtime.GOMAXPROCS(0))
	defInt(&c.MaxHashQueue, DefaultMaxHashQueue)
	defInt(&c.MaxGuestRevocations, DefaultMaxGuestRevocations)
	defInt(&c.LoginAttemptsPerUser, DefaultLoginAttemptsPerUser)
	defInt(&c.LoginAttemptsPerIP, DefaultLoginAttemptsPerIP)
	defInt(&c.RegistrationsPerIP, DefaultRegistrationsPerIP)
	defInt(&c.RateLimitKeys, DefaultRateLimitKeys)
	if c.RateWindow == 0 {
		c.RateWindow = DefaultRateWindow
	}
	if c.PurgeInterval == 0 {
		c.PurgeInterval = DefaultPurgeInterval
	}
	if c.RevocationSync == 0 {
		c.RevocationSync = DefaultRevocationSync
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
	if c.MaxHashQueue < 0 {
		c.MaxHashQueue = 0
	}
	switch {
	case c.TokenTTL < time.Minute:
		return Config{}, fmt.Errorf("%w: TokenTTL %v below one minute", ErrBadConfig, c.TokenTTL)
	case c.MaxConcurrentHashes < 0, c.LoginAttemptsPerUser < 0, c.LoginAttemptsPerIP < 0,
		c.RegistrationsPerIP < 0, c.RateLimitKeys < 0, c.MaxBodyBytes < 0, c.MaxGuestRevocations < 0:
		return Config{}, fmt.Errorf("%w: limits must not be negative", ErrBadConfig)
	case c.RateWindow < 0, c.PurgeInterval < 0, c.RevocationSync < 0:
		return Config{}, fmt.Errorf("%w: durations must not be negative", ErrBadConfig)
	}
	return c, nil
}

// RemoteIP is the default Config.ClientIP: the client address the HTTP
// layer resolved (httpapi.ClientIP: the TCP peer, or the client a trusted
// proxy names), with IPv6 addresses cut to their /64 (one host usually
// holds a whole /64).
func RemoteIP(r *http.Request) string {
	p := httpapi.ClientPrefix(r)
	switch {
	case !p.IsValid():
		return r.RemoteAddr
	case p.Addr().Is4():
		return p.Addr().String()
	}
	return p.String()
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
	hashing   atomic.Int64  // requests holding or waiting for a slot, at most MaxConcurrentHashes+MaxHashQueue

	userLogins keyLimiter   // login attempts per username key
	ipLogins   keyLimiter   // login attempts per client IP
	ipRegs     keyLimiter   // register attempts per client IP
	shared     limit.Shared // instead of the three above when set

	stats counters

	mu           sync.Mutex           // guards the fields below
	revoked      map[string]time.Time // registered users' token id -> token expiry; mirrored in the store
	guestRevoked map[string]time.Time // guests' token id -> token expiry; memory only, at most MaxGuestRevocations
	revSince     time.Time            // the store's clock at the last SyncRevocations (zero: never)
}

var (
	_ service.Service       = (*Service)(nil)
	_ service.Router        = (*Service)(nil)
	_ service.Runner        = (*Service)(nil)
	_ service.StatsReporter = (*Service)(nil)
)

// New builds a Service and loads the revocations still in force from the
// store.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:          cfg,
		store:        cfg.Store,
		signer:       cfg.Signer,
		log:          cfg.Logger,
		dummyHash:    HashPassword(cfg.Argon2, "tickwire dummy password"),
		hashSlots:    make(chan struct{}, cfg.MaxConcurrentHashes),
		userLogins:   newKeyLimiter(cfg.LoginAttemptsPerUser, cfg.RateWindow, cfg.RateLimitKeys),
		ipLogins:     newKeyLimiter(cfg.LoginAttemptsPerIP, cfg.RateWindow, cfg.RateLimitKeys),
		ipRegs:       newKeyLimiter(cfg.RegistrationsPerIP, cfg.RateWindow, cfg.RateLimitKeys),
		shared:       cfg.Shared,
		revoked:      make(map[string]time.Time),
		guestRevoked: make(map[string]time.Time),
	}
	if _, ok := cfg.Store.(SharedRevocations); ok {
		// Everything in force, and the store's clock to follow from.
		if _, err := s.SyncRevocations(ctx); err != nil {
			return nil, err
		}
		return s, nil
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
	var syncC <-chan time.Time // nil (never) unless the store is shared
	if _, ok := s.store.(SharedRevocations); ok {
		st := time.NewTicker(s.cfg.RevocationSync)
		defer st.Stop()
		syncC = st.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("purging revoked tokens", "err", err)
			}
		case <-syncC:
			if _, err := s.SyncRevocations(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reading other nodes' revocations", "err", err)
			}
		}
	}
}

// revocationOverlap is how far back each SyncRevocations re-reads before
// the previous read: a revocation stamped just before that read but
// committed just after it is found by the next one.
const revocationOverlap = 10 * time.Second

// SyncRevocations reads the revocations recorded since the last call
// (by any node sharing the store) into memory and reports how many were
// new. It does nothing unless the store implements SharedRevocations;
// Run calls it every RevocationSync.
func (s *Service) SyncRevocations(ctx context.Context) (int, error) {
	sr, ok := s.store.(SharedRevocations)
	if !ok {
		return 0, nil
	}
	s.mu.Lock()
	since := s.revSince
	s.mu.Unlock()
	if !since.IsZero() {
		since = since.Add(-revocationOverlap)
	}
	list, next, err := sr.RevokedSince(ctx, since, s.cfg.Now())
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range list {
		if _, had := s.revoked[t.TokenID]; !had {
			s.revoked[t.TokenID] = t.ExpiresAt
			n++
		}
	}
	s.revSince = next
	s.stats.revocationsSynced.Add(uint64(n))
	return n, nil
}

// Purge forgets the revocations of tokens that have expired (they are
// refused as expired anyway), in memory and in the store, and reports how
// many went from memory.
func (s *Service) Purge(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	if _, err := s.store.PurgeRevokedTokens(ctx, now); err != nil {
		return 0, err
	}
	s.mu.Lock()
	n := purgeExpired(s.revoked, now) + purgeExpired(s.guestRevoked, now)
	s.mu.Unlock()
	return n, nil
}

// purgeExpired deletes the entries of m expired at now and reports how
// many went.
func purgeExpired(m map[string]time.Time, now time.Time) int {
	n := 0
	for id, exp := range m {
		if !now.Before(exp) {
			delete(m, id)
			n++
		}
	}
	return n
}

// RevokedCount is the number of revocations held in memory, guests'
// included.
func (s *Service) RevokedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.revoked) + len(s.guestRevoked)
}

// TokenCheck refuses revoked tokens with ErrTokenRevoked
// (CodeTokenRevoked). It goes into engine.Config.TokenCheck and is what
// Authenticate applies after verifying the signature. It never blocks on
// I/O.
func (s *Service) TokenCheck(_ context.Context, c auth.Claims) error {
	s.mu.Lock()
	_, revoked := s.revoked[c.TokenID]
	if !revoked && c.Guest {
		_, revoked = s.guestRevoked[c.TokenID]
	}
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
func BearerToken(r *http.Request) (string, bool) { return httpapi.BearerToken(r) }

// revoke marks a token revoked. A registered user's token goes in memory
// and then in the store; a guest's in the bounded in-memory guest set only
// (ErrGuestRevocationsFull when that is full of unexpired tokens). It
// returns ErrTokenRevoked if the token was revoked already, so that two
// concurrent refreshes of one token cannot both succeed.
func (s *Service) revoke(ctx context.Context, c auth.Claims) error {
	if c.Guest {
		return s.revokeGuest(c)
	}
	s.mu.Lock()
	if _, done := s.revoked[c.TokenID]; done {
		s.mu.Unlock()
		return ErrTokenRevoked
	}
	s.revoked[c.TokenID] = c.Expiry()
	s.mu.Unlock()
	t := RevokedToken{TokenID: c.TokenID, UserID: c.UserID, ExpiresAt: c.Expiry()}
	if sr, ok := s.store.(SharedRevocations); ok {
		// Another node may have revoked it a moment ago (a refresh there).
		first, err := sr.RevokeTokenOnce(ctx, t)
		if err == nil && !first {
			err = ErrTokenRevoked
		}
		return err
	}
	return s.store.RevokeToken(ctx, t)
}

// revokeGuest adds a guest token to the in-memory guest set. When the set
// is full it first forgets the expired entries (at most once per call,
// O(MaxGuestRevocations) under the lock, and only when full), then
// refuses.
func (s *Service) revokeGuest(c auth.Claims) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, done := s.guestRevoked[c.TokenID]; done {
		return ErrTokenRevoked
	}
	if len(s.guestRevoked) >= s.cfg.MaxGuestRevocations {
		purgeExpired(s.guestRevoked, s.cfg.Now())
	}
	if len(s.guestRevoked) >= s.cfg.MaxGuestRevocations {
		s.stats.guestRevocationsFull.Add(1)
		return &RateLimitError{RetryAfter: time.Minute, Err: ErrGuestRevocationsFull}
	}
	s.guestRevoked[c.TokenID] = c.Expiry()
	return nil
}

// Revoke revokes a token by its claims (an admin tool, or a service that
// ends a user's sessions). Revoking twice is not an error.
func (s *Service) Revoke(ctx context.Context, c auth.Claims) error {
	if err := s.revoke(ctx, c); err != nil && !errors.Is(err, ErrTokenRevoked) {
		return err
	}
	return nil
}

// hashBusyRetry is the Retry-After of a refusal for a full hash queue.
const hashBusyRetry = time.Second

// acquireHash takes a hashing slot, waiting in a queue of at most
// MaxHashQueue requests; a request that finds the queue full is refused at
// once with ErrServerBusy (as a *RateLimitError). Release with
// releaseHash. Each slot taken counts as one hash in Stats.
func (s *Service) acquireHash(ctx context.Context) error {
	if s.hashing.Add(1) > int64(s.cfg.MaxConcurrentHashes+s.cfg.MaxHashQueue) {
		s.hashing.Add(-1)
		s.stats.hashQueueFull.Add(1)
		return &RateLimitError{RetryAfter: hashBusyRetry, Err: ErrServerBusy}
	}
	select {
	case s.hashSlots <- struct{}{}:
		s.stats.hashes.Add(1)
		return nil
	case <-ctx.Done():
		s.hashing.Add(-1)
		return &netcode.CodedError{Code: netcode.CodeServerShutdown, Msg: "request cancelled while waiting to hash", Err: ctx.Err()}
	}
}

func (s *Service) releaseHash() {
	<-s.hashSlots
	s.hashing.Add(-1)
}

// admitLogin takes a login token from clientIP's bucket and then from the
// username key's, before any hashing. A refusal is a *RateLimitError with
// ErrLoginRateLimited and the wait of the bucket that refused; the IP
// bucket refusing takes nothing from the username's.
func (s *Service) admitLogin(ctx context.Context, clientIP, userKey string) error {
	now := s.cfg.Now()
	ipWait, err := s.take(ctx, s.ipLogins, "login-ip:", clientIP, s.cfg.LoginAttemptsPerIP, now)
	if err != nil {
		return err
	}
	if ipWait > 0 {
		return &RateLimitError{RetryAfter: ipWait, Err: ErrLoginRateLimited}
	}
	userWait, err := s.take(ctx, s.userLogins, "login-user:", userKey, s.cfg.LoginAttemptsPerUser, now)
	if err != nil {
		return err
	}
	if userWait > 0 {
		return &RateLimitError{RetryAfter: userWait, Err: ErrLoginRateLimited}
	}
	return nil
}

// take counts one event of key against the in-memory limiter l, or
// against the Shared limiter (under prefix+key, allowed per RateWindow)
// when one is configured, and returns 0 or the time to wait.
func (s *Service) take(ctx context.Context, l keyLimiter, prefix, key string, allowed int, now time.Time) (time.Duration, error) {
	if s.shared == nil {
		return l.allow(key, now), nil
	}
	wait, err := s.shared.Take(ctx, prefix+key, allowed, s.cfg.RateWindow, now)
	if err != nil {
		return 0, fmt.Errorf("accounts: rate limit: %w", err)
	}
	if wait > 0 {
		l.shared.refused.Add(1)
	} else {
		l.shared.allowed.Add(1)
	}
	return wait, nil
}

// issue signs a token for a registered user.
func (s *Service) issue(u User) (TokenResponse, error) {
	tok, c, err := s.signer.Issue(auth.Claims{UserID: u.ID, Name: u.DisplayName}, s.cfg.Now(), s.cfg.TokenTTL)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("accounts: issue token: %w", err)
	}
	return TokenResponse{Token: tok, UserID: u.ID, Username: u.Username, Name: u.DisplayName, ExpiresAt: c.Expiry().UTC()}, nil
}
