package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// ErrorResponse is the body of every error the HTTP API answers.
type ErrorResponse struct {
	Error   string `json:"error"` // the code's name (netcode.Code.String), e.g. "bad_request"
	Code    uint16 `json:"code"`  // the numeric netcode.Code
	Message string `json:"message,omitempty"`
}

// RetryAfterError is a refusal that may succeed later: WriteError answers
// it with a Retry-After header of RetryAfter in whole seconds (rounded up,
// at least 1). Its code is Err's.
type RetryAfterError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// statusOf is the one table from protocol code to HTTP status. Every code
// netcode names has a row (a test walks netcode.Codes); the session-only
// codes, which no endpoint answers, are listed with the status they would
// get so that the choice is deliberate too.
var statusOf = map[netcode.Code]int{
	netcode.CodeOK: http.StatusOK,

	// Authentication: 401 with WWW-Authenticate (see WriteError).
	netcode.CodeNotAuthenticated:   http.StatusUnauthorized,
	netcode.CodeBadToken:           http.StatusUnauthorized,
	netcode.CodeTokenExpired:       http.StatusUnauthorized,
	netcode.CodeTokenRevoked:       http.StatusUnauthorized,
	netcode.CodeInvalidCredentials: http.StatusUnauthorized, // a login body, not a bearer token: no WWW-Authenticate

	// The caller may not do this.
	netcode.CodeForbidden:       http.StatusForbidden,
	netcode.CodeKicked:          http.StatusForbidden,
	netcode.CodeGuestNotAllowed: http.StatusForbidden,
	netcode.CodeNotInRoom:       http.StatusForbidden,
	netcode.CodeRoomPrivate:     http.StatusForbidden,
	netcode.CodeNotFriends:      http.StatusForbidden,
	netcode.CodeBlocked:         http.StatusForbidden,
	netcode.CodeNotGroupMember:  http.StatusForbidden,
	netcode.CodeNoRelation:      http.StatusForbidden,
	netcode.CodeGroupInviteOnly: http.StatusForbidden,
	netcode.CodeNotGroupAdmin:   http.StatusForbidden,

	// The thing named does not exist (any more).
	netcode.CodeNotFound:        http.StatusNotFound,
	netcode.CodeRoomNotFound:    http.StatusNotFound,
	netcode.CodeRoomClosed:      http.StatusNotFound,
	netcode.CodeUserNotFound:    http.StatusNotFound,
	netcode.CodeRequestNotFound: http.StatusNotFound,
	netcode.CodeGroupNotFound:   http.StatusNotFound,
	netcode.CodeCallNotFound:    http.StatusNotFound,
	netcode.CodeUserOffline:     http.StatusNotFound,

	// The state already is what was asked, or a count limit is reached.
	netcode.CodeAlreadyInRoom:   http.StatusConflict,
	netcode.CodeUsernameTaken:   http.StatusConflict,
	netcode.CodeAlreadyFriends:  http.StatusConflict,
	netcode.CodeAlreadyMember:   http.StatusConflict,
	netcode.CodeRoomFull:        http.StatusConflict,
	netcode.CodeTooManyRooms:    http.StatusConflict,
	netcode.CodeRoomCreateLimit: http.StatusConflict,
	netcode.CodeSocialLimit:     http.StatusConflict,
	netcode.CodeCallBusy:        http.StatusConflict,
	netcode.CodeInCall:          http.StatusConflict,
	netcode.CodeCallAnswered:    http.StatusConflict,

	// Too large.
	netcode.CodeFrameTooLarge:      http.StatusRequestEntityTooLarge,
	netcode.CodeMessageTooLarge:    http.StatusRequestEntityTooLarge,
	netcode.CodeInputTooLarge:      http.StatusRequestEntityTooLarge,
	netcode.CodeSignalTooLarge:     http.StatusRequestEntityTooLarge,
	netcode.CodeVoiceFrameTooLarge: http.StatusRequestEntityTooLarge,

	// Rate limits: 429, with Retry-After when the refusal knows the wait.
	netcode.CodeRateLimited:        http.StatusTooManyRequests,
	netcode.CodeLoginRateLimited:   http.StatusTooManyRequests,
	netcode.CodeMessageRateLimited: http.StatusTooManyRequests,
	netcode.CodeInputRateLimited:   http.StatusTooManyRequests,
	netcode.CodeSignalRateLimited:  http.StatusTooManyRequests,
	netcode.CodeCallRateLimited:    http.StatusTooManyRequests,
	netcode.CodeVoiceRateLimited:   http.StatusTooManyRequests,

	// The server cannot take this now: retry later.
	netcode.CodeServerShutdown:     http.StatusServiceUnavailable,
	netcode.CodeDraining:           http.StatusServiceUnavailable,
	netcode.CodeServerBusy:         http.StatusServiceUnavailable,
	netcode.CodeTooManySessions:    http.StatusServiceUnavailable,
	netcode.CodeNodeGone:           http.StatusServiceUnavailable,
	netcode.CodeClusterUnavailable: http.StatusServiceUnavailable,

	// Known but not offered by this server.
	netcode.CodeUnsupported: http.StatusNotImplemented,

	// Server-side failures: logged, never explained to the client.
	netcode.CodeInternal:    http.StatusInternalServerError,
	netcode.CodeRoomCrashed: http.StatusInternalServerError,

	// Everything else is of the client's making.
	netcode.CodeBadFrame:          http.StatusBadRequest,
	netcode.CodeUnknownKind:       http.StatusBadRequest,
	netcode.CodeProtocolVersion:   http.StatusBadRequest,
	netcode.CodeBadRequest:        http.StatusBadRequest,
	netcode.CodeBadText:           http.StatusBadRequest,
	netcode.CodeUnknownRoomType:   http.StatusBadRequest,
	netcode.CodeBadRoomConfig:     http.StatusBadRequest,
	netcode.CodeNotVoiceRoom:      http.StatusBadRequest,
	netcode.CodeVoiceRoomTooLarge: http.StatusBadRequest,
	netcode.CodeVoiceLinkLimit:    http.StatusTooManyRequests,
	netcode.CodeBadTicket:         http.StatusForbidden,
	netcode.CodeTicketExpired:     http.StatusForbidden,
	netcode.CodeTicketReused:      http.StatusForbidden,
	netcode.CodeTooManyRedirects:  http.StatusBadGateway,
	netcode.CodeBadUsername:       http.StatusBadRequest,
	netcode.CodeBadPassword:       http.StatusBadRequest,
	netcode.CodeSelfAction:        http.StatusBadRequest,
	netcode.CodeBadGroupName:      http.StatusBadRequest,

	// Session close codes: no endpoint answers them.
	netcode.CodeIdleTimeout:      http.StatusBadRequest,
	netcode.CodeTooManyErrors:    http.StatusBadRequest,
	netcode.CodeReplaced:         http.StatusBadRequest,
	netcode.CodeSlowConsumer:     http.StatusBadRequest,
	netcode.CodeHandshakeTimeout: http.StatusBadRequest,
	netcode.CodeResumeUnknown:    http.StatusBadRequest,
	netcode.CodeResumeBadSecret:  http.StatusBadRequest,
	netcode.CodeResumeOverflow:   http.StatusBadRequest,

	// The client's own verdict on the server's certificate: no endpoint
	// answers it (a gateway that cannot trust its upstream would say 502).
	netcode.CodeUntrustedCertificate: http.StatusBadGateway,
	// The client's own verdict on a request whose connection ended before
	// its reply, with no resume.
	netcode.CodeConnectionLost: http.StatusBadGateway,
}

// Status is the HTTP status the API answers code c with. A code this
// table does not know (a number no netcode constant names) is a server
// bug: 500.
func Status(c netcode.Code) int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// WriteJSON answers v as JSON with the given status and the API's common
// headers (which Wrap sets too, for answers that have no body).
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, r, err) // a type that cannot be encoded: a server bug, logged
		return
	}
	setHeaders(w.Header())
	w.WriteHeader(status)
	if _, err := w.Write(append(b, '\n')); err != nil {
		logger(r).Debug("http: writing the response", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

// WriteError answers err as an ErrorResponse with the status Status gives
// its code (netcode.CodeOf). The message is a *netcode.CodedError's Msg;
// an internal error (any error without a code) is logged with the
// request's method and path and answered as "internal" without its text.
// 401 answers carry WWW-Authenticate: Bearer (with error="invalid_token"
// when a token was presented and refused); a *RetryAfterError adds
// Retry-After.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	WriteErrorStatus(w, r, Status(netcode.CodeOf(err)), err)
}

// WriteErrorStatus is WriteError with a status chosen by the caller
// instead of the one Status gives, for the few answers a protocol defines
// apart from the table: a long-poll request on a session that has closed
// (410 Gone with the session's close code), a long-poll sequence conflict
// (409), a request that is not a WebSocket upgrade (426). Body, headers
// and the handling of internal errors are WriteError's, decided by the
// code: an error whose code Status answers with 500 is logged and
// answered as "internal" whatever status is given.
func WriteErrorStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	code := netcode.CodeOf(err)
	resp := ErrorResponse{Error: code.String(), Code: uint16(code)}
	var ce *netcode.CodedError
	switch {
	case Status(code) == http.StatusInternalServerError:
		logger(r).Error("http: request failed", "method", r.Method, "path", r.URL.Path, "code", code.String(), "err", err)
		resp.Message = "internal error"
	case errors.As(err, &ce):
		resp.Message = ce.Msg
	}
	h := w.Header()
	switch code {
	case netcode.CodeNotAuthenticated:
		h.Set("WWW-Authenticate", `Bearer realm="tickwire"`)
	case netcode.CodeBadToken, netcode.CodeTokenExpired, netcode.CodeTokenRevoked:
		h.Set("WWW-Authenticate", `Bearer realm="tickwire", error="invalid_token"`)
	}
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfter > 0 {
		secs := int64((ra.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	b, merr := json.Marshal(resp)
	if merr != nil { // cannot happen: strings and a number
		b = []byte(`{"error":"internal","code":9}`)
	}
	setHeaders(h)
	w.WriteHeader(status)
	if _, err := w.Write(append(b, '\n')); err != nil {
		logger(r).Debug("http: writing the response", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

// WriteNoContent answers 204 No Content with the API's common headers.
func WriteNoContent(w http.ResponseWriter) {
	h := w.Header()
	setHeaders(h)
	h.Del("Content-Type") // no body
	w.WriteHeader(http.StatusNoContent)
}
