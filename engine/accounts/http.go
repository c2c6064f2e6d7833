package accounts

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// DefaultMaxBodyBytes bounds the request bodies of the accounts API.
const DefaultMaxBodyBytes = 4 << 10

// ErrorResponse is the body of every error the accounts API answers; it
// has the same shape as the engine's (engine.ErrorResponse), so a client
// parses one error format for the whole HTTP API:
//
//	{"error": "invalid_credentials", "code": 203, "message": "invalid username or password"}
type ErrorResponse struct {
	Error   string `json:"error"` // the code's name (netcode.Code.String)
	Code    uint16 `json:"code"`  // the numeric netcode.Code
	Message string `json:"message,omitempty"`
}

// HTTPStatus maps a protocol code to the HTTP status the API answers it
// with.
func HTTPStatus(c netcode.Code) int {
	switch c {
	case netcode.CodeOK:
		return http.StatusOK
	case netcode.CodeBadRequest, netcode.CodeBadFrame, netcode.CodeBadUsername, netcode.CodeBadPassword,
		netcode.CodeBadGroupName, netcode.CodeSelfAction:
		return http.StatusBadRequest
	case netcode.CodeFrameTooLarge, netcode.CodeMessageTooLarge:
		return http.StatusRequestEntityTooLarge
	case netcode.CodeNotAuthenticated, netcode.CodeBadToken, netcode.CodeTokenExpired,
		netcode.CodeTokenRevoked, netcode.CodeInvalidCredentials:
		return http.StatusUnauthorized
	case netcode.CodeForbidden, netcode.CodeGuestNotAllowed, netcode.CodeBlocked, netcode.CodeNotFriends,
		netcode.CodeNotGroupMember, netcode.CodeNotGroupAdmin, netcode.CodeGroupInviteOnly:
		return http.StatusForbidden
	case netcode.CodeNotFound, netcode.CodeUserNotFound, netcode.CodeGroupNotFound, netcode.CodeRequestNotFound:
		return http.StatusNotFound
	case netcode.CodeUsernameTaken, netcode.CodeAlreadyFriends, netcode.CodeAlreadyMember:
		return http.StatusConflict
	case netcode.CodeRateLimited, netcode.CodeLoginRateLimited, netcode.CodeMessageRateLimited:
		return http.StatusTooManyRequests
	case netcode.CodeServerShutdown:
		return http.StatusServiceUnavailable
	case netcode.CodeUnsupported:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

// WriteError answers err as an ErrorResponse with the status HTTPStatus
// gives its code. Only a *netcode.CodedError's message is shown; any other
// error is answered as "internal" without its text (it may hold storage
// details). Unauthorized answers carry WWW-Authenticate: Bearer.
func WriteError(w http.ResponseWriter, err error) {
	code := netcode.CodeOf(err)
	resp := ErrorResponse{Error: code.String(), Code: uint16(code)}
	var ce *netcode.CodedError
	if errors.As(err, &ce) {
		resp.Message = ce.Msg
	}
	status := HTTPStatus(code)
	if status == http.StatusUnauthorized && code != netcode.CodeInvalidCredentials {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tickwire"`)
	}
	WriteJSON(w, status, resp)
}

// writeRateLimited answers 429 with Retry-After in whole seconds.
func writeRateLimited(w http.ResponseWriter, err error, after time.Duration) {
	secs := int64((after + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	WriteError(w, err)
}

// DecodeJSON reads one JSON object from r's body, at most maxBytes long,
// into v, strictly: unknown fields, trailing data, wrong types and
// malformed JSON are *netcode.CodedError with CodeBadRequest; a body above
// maxBytes is CodeFrameTooLarge. w may be nil (the limit is then enforced
// without telling the server to close the connection).
func DecodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) error {
	return decodeJSON(http.MaxBytesReader(w, r.Body, maxBytes), maxBytes, v)
}

func decodeJSON(body io.Reader, maxBytes int64, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, maxBytes)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err, maxBytes)
		}
		return netcode.Errorf(netcode.CodeBadRequest, "body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error, maxBytes int64) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &netcode.CodedError{Code: netcode.CodeFrameTooLarge, Msg: "body above " + strconv.FormatInt(maxBytes, 10) + " bytes", Err: err}
	case errors.Is(err, io.EOF):
		return &netcode.CodedError{Code: netcode.CodeBadRequest, Msg: "body is empty, want a JSON object", Err: err}
	}
	return &netcode.CodedError{Code: netcode.CodeBadRequest, Msg: "body is not the expected JSON object: " + err.Error(), Err: err}
}
