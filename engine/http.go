package engine

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
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

// ErrorResponse is the body of every HTTP error the engine answers.
type ErrorResponse struct {
	Error   string `json:"error"` // the code's name, e.g. "bad_request"
	Code    uint16 `json:"code"`  // the numeric netcode.Code
	Message string `json:"message,omitempty"`
}

// HTTPHandler returns the engine's HTTP API:
//
//	GET  /healthz        {"status":"ok"} (503 {"status":"shutting_down"} once Shutdown began)
//	POST /v1/auth/guest  {"name":"optional"} -> TokenResponse
//	GET  /v1/stats       Stats, with every service.StatsReporter's snapshot under "services"
//
// plus the routes of every service that implements service.Router.
func (e *Engine) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", e.handleHealth)
	mux.HandleFunc("POST /v1/auth/guest", e.handleGuest)
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, e.ServiceStats())
	})
	for _, s := range e.cfg.Services {
		if r, ok := s.(service.Router); ok {
			r.Routes(mux)
		}
	}
	return mux
}

func (e *Engine) handleHealth(w http.ResponseWriter, r *http.Request) {
	select {
	case <-e.quit:
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"})
	default:
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

func (e *Engine) handleGuest(w http.ResponseWriter, r *http.Request) {
	var req GuestRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		WriteError(w, http.StatusRequestEntityTooLarge, netcode.Errorf(netcode.CodeFrameTooLarge, "body above %d bytes", maxBodyBytes))
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			WriteError(w, http.StatusBadRequest, netcode.Errorf(netcode.CodeBadRequest, "body is not a JSON object: %v", err))
			return
		}
	}
	name := strings.TrimSpace(req.Name)
	if !validName(name) {
		WriteError(w, http.StatusBadRequest, netcode.Errorf(netcode.CodeBadRequest, "name must be printable UTF-8 of at most %d bytes", frame.MaxNameLen))
		return
	}
	id := "g_" + auth.NewTokenID()
	if name == "" {
		name = "guest-" + id[2:8]
	}
	tok, claims, err := e.signer.Issue(auth.Claims{UserID: id, Name: name, Guest: true}, e.cfg.Now(), e.cfg.GuestTokenTTL)
	if err != nil {
		e.log.Error("issuing a guest token", "err", err)
		WriteError(w, http.StatusInternalServerError, netcode.Errorf(netcode.CodeInternal, "could not issue a token"))
		return
	}
	WriteJSON(w, http.StatusOK, TokenResponse{Token: tok, UserID: id, Name: name, Guest: true, ExpiresAt: claims.Expiry().UTC()})
}

// validName accepts display names of at most frame.MaxNameLen bytes of
// valid UTF-8 without control characters (JSON decoding turns invalid
// UTF-8 into U+FFFD, which is refused too).
func validName(name string) bool {
	if len(name) > frame.MaxNameLen || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

// WriteError writes err as an ErrorResponse: its code (netcode.CodeOf)
// and, for a *netcode.CodedError, its message.
func WriteError(w http.ResponseWriter, status int, err error) {
	code := netcode.CodeOf(err)
	resp := ErrorResponse{Error: code.String(), Code: uint16(code)}
	var ce *netcode.CodedError
	if errors.As(err, &ce) {
		resp.Message = ce.Msg
	}
	WriteJSON(w, status, resp)
}
