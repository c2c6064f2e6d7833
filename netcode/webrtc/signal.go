package webrtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/tickwire/tickwire/netcode"
)

// SDPContentType is the media type of an offer and of its answer.
const SDPContentType = "application/sdp"

// errorBody is the JSON body of every refusal, the shape the rest of
// the HTTP API answers (engine/httpapi.ErrorResponse; netcode may not
// import it).
type errorBody struct {
	Error   string `json:"error"`
	Code    uint16 `json:"code"`
	Message string `json:"message,omitempty"`
}

// httpStatus is the status an offer refusal gets, following the API's
// one table (engine/httpapi) for the codes this endpoint answers.
func httpStatus(c netcode.Code) int {
	switch c {
	case netcode.CodeNotAuthenticated, netcode.CodeBadToken, netcode.CodeTokenExpired, netcode.CodeTokenRevoked:
		return http.StatusUnauthorized
	case netcode.CodeForbidden, netcode.CodeGuestNotAllowed:
		return http.StatusForbidden
	case netcode.CodeFrameTooLarge:
		return http.StatusRequestEntityTooLarge
	case netcode.CodeRateLimited:
		return http.StatusTooManyRequests
	case netcode.CodeServerShutdown, netcode.CodeServerBusy, netcode.CodeTooManySessions:
		return http.StatusServiceUnavailable
	case netcode.CodeUnsupported:
		return http.StatusNotImplemented
	case netcode.CodeBadRequest, netcode.CodeBadFrame, netcode.CodeProtocolVersion:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// writeError answers err with its code's status and the API's JSON body.
// Errors without a code are answered "internal" without their text.
func writeError(w http.ResponseWriter, err error) {
	code := netcode.CodeOf(err)
	status := httpStatus(code)
	body := errorBody{Error: code.String(), Code: uint16(code)}
	var ce *netcode.CodedError
	switch {
	case status == http.StatusInternalServerError:
		body.Message = "internal error"
	case errors.As(err, &ce):
		body.Message = ce.Msg
	}
	h := w.Header()
	switch code {
	case netcode.CodeNotAuthenticated:
		h.Set("WWW-Authenticate", `Bearer realm="tickwire"`)
	case netcode.CodeBadToken, netcode.CodeTokenExpired, netcode.CodeTokenRevoked:
		h.Set("WWW-Authenticate", `Bearer realm="tickwire", error="invalid_token"`)
	}
	b, merr := json.Marshal(body)
	if merr != nil { // cannot happen: strings and a number
		b = []byte(`{"error":"internal","code":9}`)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // the client may be gone; nothing to do
}

// readError turns a refusal response into the error Dial returns: a
// *netcode.CodedError with the server's code, matching
// netcode.ErrHandshake.
func readError(status int, body []byte) error {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" {
		return &netcode.CodedError{Code: netcode.CodeInternal,
			Msg: fmt.Sprintf("webrtc: signaling answered %d without an error body", status), Err: netcode.ErrHandshake}
	}
	return &netcode.CodedError{Code: netcode.Code(eb.Code), Msg: eb.Message, Err: netcode.ErrHandshake}
}

// bearerToken extracts the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(h[len(prefix):])
}

// validateOffer checks, before any PeerConnection exists, that body is
// an SDP offer this server can answer: parseable, exactly one media
// section, an "application" one over UDP/DTLS/SCTP for data channels,
// with ICE credentials and a DTLS fingerprint. pion checks the rest.
func validateOffer(body []byte) error {
	if len(body) == 0 {
		return netcode.Errorf(netcode.CodeBadRequest, "webrtc: empty offer")
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return netcode.Errorf(netcode.CodeBadRequest, "webrtc: offer is not SDP: %v", err)
	}
	if len(sd.MediaDescriptions) != 1 {
		return netcode.Errorf(netcode.CodeBadRequest, "webrtc: offer has %d media sections, want 1 (data channels only)", len(sd.MediaDescriptions))
	}
	md := sd.MediaDescriptions[0]
	if md.MediaName.Media != "application" || !strings.Contains(strings.Join(md.MediaName.Protos, "/"), "SCTP") {
		return netcode.Errorf(netcode.CodeBadRequest, "webrtc: offer's media section is %q %v, want application UDP/DTLS/SCTP",
			md.MediaName.Media, md.MediaName.Protos)
	}
	attr := func(key string) bool {
		if _, ok := md.Attribute(key); ok {
			return true
		}
		_, ok := sd.Attribute(key)
		return ok
	}
	for _, key := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
		if !attr(key) {
			return netcode.Errorf(netcode.CodeBadRequest, "webrtc: offer has no a=%s", key)
		}
	}
	return nil
}
