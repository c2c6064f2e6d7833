package accounts

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// Credentials is the body of POST /v1/auth/register and POST
// /v1/auth/login. DisplayName is read by register only (optional; default
// the username).
type Credentials struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name,omitempty"`
}

// loginRequest is Credentials without display_name, so login refuses it as
// an unknown field.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// TokenResponse answers register, login and refresh. Its fields are those
// of the engine's guest TokenResponse plus username.
type TokenResponse struct {
	Token     string    `json:"token"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username,omitempty"`
	Name      string    `json:"name"` // display name
	Guest     bool      `json:"guest"`
	ExpiresAt time.Time `json:"expires_at"` // RFC 3339
}

// MeResponse answers GET /v1/me.
type MeResponse struct {
	UserID         string     `json:"user_id"`
	Username       string     `json:"username,omitempty"` // empty for guests
	Name           string     `json:"name"`
	Guest          bool       `json:"guest"`
	CreatedAt      *time.Time `json:"created_at,omitempty"` // registered users only
	TokenExpiresAt time.Time  `json:"token_expires_at"`
}

// Routes implements service.Router:
//
//	POST /v1/auth/register  Credentials -> 201 TokenResponse
//	POST /v1/auth/login     Credentials -> 200 TokenResponse
//	POST /v1/auth/refresh   (bearer)    -> 200 TokenResponse; the old token is revoked
//	POST /v1/auth/logout    (bearer)    -> 204; the token is revoked
//	GET  /v1/me             (bearer)    -> 200 MeResponse
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/auth/register", s.handleRegister)
	mux.HandleFunc("POST /v1/auth/login", s.handleLogin)
	mux.HandleFunc("POST /v1/auth/refresh", s.handleRefresh)
	mux.HandleFunc("POST /v1/auth/logout", s.handleLogout)
	mux.HandleFunc("GET /v1/me", s.handleMe)
}

func (s *Service) handleRegister(w http.ResponseWriter, r *http.Request) {
	wait, err := s.take(r.Context(), s.ipRegs, "register-ip:", s.cfg.ClientIP(r), s.cfg.RegistrationsPerIP, s.cfg.Now())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if wait > 0 {
		httpapi.WriteError(w, r, &RateLimitError{RetryAfter: wait, Err: netcode.Errorf(netcode.CodeRateLimited, "too many registrations from this address")})
		return
	}
	var req Credentials
	if err := httpapi.DecodeJSON(w, r, &req, s.cfg.MaxBodyBytes); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	resp, err := s.Register(r.Context(), req)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusCreated, resp)
}

// Register creates an account and returns its first token. The handler of
// POST /v1/auth/register; usable directly by embedders.
func (s *Service) Register(ctx context.Context, req Credentials) (TokenResponse, error) {
	name, _, err := NormalizeUsername(req.Username)
	if err != nil {
		return TokenResponse{}, err
	}
	display, err := NormalizeDisplayName(req.DisplayName, name)
	if err != nil {
		return TokenResponse{}, err
	}
	pw, err := NormalizePassword(req.Password)
	if err != nil {
		return TokenResponse{}, err
	}
	if err := s.acquireHash(ctx); err != nil {
		return TokenResponse{}, err
	}
	hash := HashPassword(s.cfg.Argon2, pw)
	s.releaseHash()
	u, err := s.store.CreateUser(ctx, name, display, hash)
	if err != nil {
		return TokenResponse{}, err
	}
	s.log.Debug("registered", "user_id", u.ID, "username", u.Username)
	return s.issue(u)
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := httpapi.DecodeJSON(w, r, &req, s.cfg.MaxBodyBytes); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	resp, err := s.Login(r.Context(), s.cfg.ClientIP(r), req.Username, req.Password)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, resp)
}

// userLimitKey is the per-username rate-limit key: the username key, or
// the raw name cut to 64 bytes when it breaks the rules (no account has
// it, but failures against it still count the same way).
func userLimitKey(username string) string {
	if key := UsernameKey(username); key != "" {
		return key
	}
	if len(username) > 64 {
		username = username[:64]
	}
	return "\x00" + username
}

// Login checks a username and password and returns a token. Unknown users,
// users without a password and wrong passwords all fail with
// ErrInvalidCredentials after the same argon2id work. Every attempt first
// takes a token from the client IP's and the username's buckets; when
// either is empty, Login fails with a *RateLimitError
// (CodeLoginRateLimited) without hashing. Hashing then waits for a slot
// of the bounded pool (a full queue: *RateLimitError with ErrServerBusy).
func (s *Service) Login(ctx context.Context, clientIP, username, password string) (TokenResponse, error) {
	if err := s.admitLogin(ctx, clientIP, userLimitKey(username)); err != nil {
		return TokenResponse{}, err
	}
	u, ok, err := s.checkPassword(ctx, username, password)
	if err != nil {
		return TokenResponse{}, err
	}
	if !ok {
		s.log.Debug("login failed", "ip", clientIP)
		return TokenResponse{}, ErrInvalidCredentials
	}
	return s.issue(u)
}

// checkPassword runs argon2id once whatever happens: against the user's
// hash, or against a dummy hash when there is no such user, no password on
// the account, or a password outside the length rules.
func (s *Service) checkPassword(ctx context.Context, username, password string) (User, bool, error) {
	u, hash, err := s.store.Credentials(ctx, username)
	if err != nil && !errors.Is(err, ErrUserNotFound) {
		return User{}, false, err
	}
	found := err == nil && hash != nil
	pw, pwErr := NormalizePassword(password)
	if pwErr != nil {
		found = false
		pw = "" // hashed against the dummy; never matches anything
	}
	if !found {
		hash = s.dummyHash
	}
	if err := s.acquireHash(ctx); err != nil {
		return User{}, false, err
	}
	ok, rehash, verr := VerifyPassword(hash, pw, s.cfg.Argon2)
	var fresh []byte
	if found && ok && rehash {
		fresh = HashPassword(s.cfg.Argon2, pw)
	}
	s.releaseHash()
	if verr != nil {
		s.log.Error("stored password hash is malformed", "user_id", u.ID, "err", verr)
		return User{}, false, nil
	}
	if !found || !ok {
		return User{}, false, nil
	}
	if fresh != nil {
		if err := s.store.SetPasswordHash(ctx, u.ID, fresh); err != nil {
			s.log.Warn("rehashing a password", "user_id", u.ID, "err", err)
		}
	}
	return u, true, nil
}

func (s *Service) handleRefresh(w http.ResponseWriter, r *http.Request) {
	c, err := s.Authenticate(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	resp, err := s.Refresh(r.Context(), c)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, resp)
}

// Refresh revokes the (verified) token c and issues a new one for the same
// user: registered users get their current display name, guests keep
// their claims. A token can be refreshed once: a second refresh of it
// fails with ErrTokenRevoked.
func (s *Service) Refresh(ctx context.Context, c auth.Claims) (TokenResponse, error) {
	var u User
	if !c.Guest {
		var err error
		if u, err = s.store.UserByID(ctx, c.UserID); err != nil {
			return TokenResponse{}, err
		}
	}
	if err := s.revoke(ctx, c); err != nil {
		return TokenResponse{}, err
	}
	if !c.Guest {
		return s.issue(u)
	}
	tok, nc, err := s.signer.Issue(auth.Claims{UserID: c.UserID, Name: c.Name, Guest: true}, s.cfg.Now(), time.Duration(c.ExpiresAt-c.IssuedAt)*time.Second)
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{Token: tok, UserID: c.UserID, Name: c.Name, Guest: true, ExpiresAt: nc.Expiry().UTC()}, nil
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	c, err := s.Authenticate(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if err := s.revoke(r.Context(), c); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteNoContent(w)
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) {
	c, err := s.Authenticate(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	resp := MeResponse{UserID: c.UserID, Name: c.Name, Guest: c.Guest, TokenExpiresAt: c.Expiry().UTC()}
	if !c.Guest {
		u, err := s.store.UserByID(r.Context(), c.UserID)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		resp.Username, resp.Name, resp.CreatedAt = u.Username, u.DisplayName, &u.CreatedAt
	}
	httpapi.WriteJSON(w, r, http.StatusOK, resp)
}
