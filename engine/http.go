package engine

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/limit"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// maxBodyBytes bounds the request bodies the engine's own endpoints read.
const maxBodyBytes = 4 << 10

// GuestRequest is the optional body of POST /v1/auth/guest.
type GuestRequest struct {
	Name string `json:"name,omitempty"`
}

// TokenResponse answers every endpoint that issues a token.
type TokenResponse struct {
	Token     string    `json:"token"`
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	Guest     bool      `json:"guest"`
	ExpiresAt time.Time `json:"expires_at"` // RFC 3339
}

// ErrorResponse is the body of every HTTP error the API answers.
type ErrorResponse = httpapi.ErrorResponse

// HTTPStats counts what the engine's own endpoints issued and refused.
type HTTPStats struct {
	// GuestTokens counts guest tokens issued.
	GuestTokens uint64 `json:"guest_tokens"`
	// GuestRefused counts refused guest token requests by reason:
	// "rate_limited" (Config.GuestsPerIP), "bad_text" (the name).
	GuestRefused map[string]uint64 `json:"guest_refused"`
	// GuestLimiter is the per-address guest limiter's own snapshot
	// (addresses tracked, allowed, refused, evicted).
	GuestLimiter limit.Stats `json:"guest_limiter"`
	// CORS counts the answers to browser pages on other origins
	// (Config.AllowedOrigins) of every handler behind HTTPConfig:
	// preflights answered, preflights refused 403 forbidden, requests
	// from a disallowed origin served without CORS headers.
	CORS httpapi.CORSStats `json:"cors"`
	// TLSHandshakeFailures counts HTTPS connections whose TLS handshake
	// failed (an untrusted certificate on the client's side, a scanner,
	// garbage), as the HTTP server behind HTTPConfig reports them.
	TLSHandshakeFailures uint64 `json:"tls_handshake_failures"`
}

// httpState is the engine's HTTP-side state: the guest limiter and the
// counters behind HTTPStats. Safe for concurrent use.
type httpState struct {
	guests  *limit.Keyed[netip.Prefix] // nil when GuestsPerIP < 0
	origins *httpapi.OriginPolicy      // Config.AllowedOrigins
	cors    httpapi.CORSCounters
	srvLog  httpapi.ServerLogCounters

	guestTokens      atomic.Uint64
	guestRateLimited atomic.Uint64
	guestBadText     atomic.Uint64
}

func newHTTPState(cfg Config) (*httpState, error) {
	origins, err := httpapi.NewOriginPolicy(cfg.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("%w: AllowedOrigins: %w", ErrBadConfig, err)
	}
	h := &httpState{origins: origins}
	if cfg.GuestsPerIP > 0 {
		h.guests = limit.NewKeyed[netip.Prefix](limit.Per(cfg.GuestsPerIP, time.Minute), cfg.GuestsPerIP, 0)
	}
	return h, nil
}

func (h *httpState) snapshot() HTTPStats {
	st := HTTPStats{
		GuestTokens: h.guestTokens.Load(),
		GuestRefused: map[string]uint64{
			"rate_limited": h.guestRateLimited.Load(),
			"bad_text":     h.guestBadText.Load(),
		},
		CORS: h.cors.Stats(),

		TLSHandshakeFailures: h.srvLog.TLSHandshakeFailures(),
	}
	if h.guests != nil {
		st.GuestLimiter = h.guests.Stats()
	}
	return st
}

// HTTPHandler returns the engine's HTTP API behind httpapi.Wrap with
// HTTPConfig (common headers; the client address resolved with
// Config.TrustedProxies; CORS by Config.AllowedOrigins):
//
//	GET  /healthz        {"status":"ok"} (503 {"status":"shutting_down"} once Shutdown began): liveness
//	GET  /readyz         {"status":"ready"} (503 {"status":"draining"} once Drain was called, or shutting_down): readiness
//	POST /v1/auth/guest  {"name":"optional"} -> TokenResponse; Config.GuestsPerIP per client address
//
// plus the routes of every service that implements service.Router. The
// engine's stats (ServiceStats) are served on the admin listener only
// (package server), never on this port.
func (e *Engine) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", e.handleHealth)
	mux.HandleFunc("GET /readyz", e.HandleReady)
	mux.HandleFunc("POST /v1/auth/guest", e.handleGuest)
	for _, s := range e.cfg.Services {
		if r, ok := s.(service.Router); ok {
			r.Routes(mux)
		}
	}
	return httpapi.Wrap(mux, e.HTTPConfig())
}

// HTTPConfig is the middleware configuration HTTPHandler runs behind: the
// client address rule (Config.TrustedProxies), the origin policy
// (Config.AllowedOrigins) with the counters Stats.HTTP.CORS shows, and
// the engine's logger. An assembly that serves more routes beside
// HTTPHandler behind one httpapi.Wrap of its own (package server) wraps
// with it, so that one rule and one set of counters cover every route.
func (e *Engine) HTTPConfig() httpapi.Config {
	return httpapi.Config{
		TrustedProxies: e.cfg.TrustedProxies,
		Origins:        e.http.origins,
		CORS:           &e.http.cors,
		ServerLog:      &e.http.srvLog,
		Logger:         e.log,
	}
}

func (e *Engine) handleHealth(w http.ResponseWriter, r *http.Request) {
	select {
	case <-e.quit:
		httpapi.WriteJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"})
	default:
		httpapi.WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
	}
}

// HandleReady is GET /readyz, readiness: 200 {"status":"ready"} while the
// engine takes new sessions, 503 {"status":"draining"} once Drain was
// called (a load balancer stops sending players here) and 503
// {"status":"shutting_down"} once Shutdown began. The admin listener
// serves it too.
func (e *Engine) HandleReady(w http.ResponseWriter, r *http.Request) {
	select {
	case <-e.quit:
		httpapi.WriteJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"})
		return
	default:
	}
	if e.draining.Load() {
		httpapi.WriteJSON(w, r, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	httpapi.WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ready"})
}

// guestWait takes a guest token of r's client address (an IPv4 address
// or IPv6 /64) from Config.SharedLimits when set, else from this node's
// limiter, and returns 0 or the time to wait.
func (e *Engine) guestWait(r *http.Request) (time.Duration, error) {
	key, now := httpapi.ClientPrefix(r), e.cfg.Now()
	if sh := e.cfg.SharedLimits; sh != nil && e.cfg.GuestsPerIP > 0 {
		wait, err := sh.Take(r.Context(), "guest-ip:"+key.String(), e.cfg.GuestsPerIP, time.Minute, now)
		if err != nil {
			return 0, fmt.Errorf("engine: guest limit: %w", err)
		}
		return wait, nil
	}
	if g := e.http.guests; g != nil && !g.Allow(key, now) {
		return max(g.Wait(key, now), time.Millisecond), nil
	}
	return 0, nil
}

// handleGuest issues a guest token. The client address's token is taken
// first, so every attempt counts, well-formed or not.
func (e *Engine) handleGuest(w http.ResponseWriter, r *http.Request) {
	if wait, err := e.guestWait(r); err != nil || wait > 0 {
		if err == nil {
			e.http.guestRateLimited.Add(1)
			err = &httpapi.RetryAfterError{
				RetryAfter: wait,
				Err:        netcode.Errorf(netcode.CodeRateLimited, "too many guest tokens from this address"),
			}
		}
		httpapi.WriteError(w, r, err)
		return
	}
	var req GuestRequest
	if err := httpapi.DecodeOptionalJSON(w, r, &req, maxBodyBytes); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	name, err := frame.CleanText(frame.TextDisplayName, req.Name)
	if err != nil {
		e.http.guestBadText.Add(1)
		httpapi.WriteError(w, r, err)
		return
	}
	id := "g_" + auth.NewTokenID()
	if name == "" {
		name = "guest-" + id[2:8]
	}
	tok, claims, err := e.signer.Issue(auth.Claims{UserID: id, Name: name, Guest: true}, e.cfg.Now(), e.cfg.GuestTokenTTL)
	if err != nil {
		httpapi.WriteError(w, r, err) // logged as internal
		return
	}
	e.http.guestTokens.Add(1)
	httpapi.WriteJSON(w, r, http.StatusOK, TokenResponse{Token: tok, UserID: id, Name: name, Guest: true, ExpiresAt: claims.Expiry().UTC()})
}
