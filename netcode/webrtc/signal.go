package webrtc

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// SDPContentType is the media type of an offer and of its answer.
const SDPContentType = "application/sdp"

// readError turns a refusal response into the error Dial returns: a
// *netcode.CodedError with the server's code, matching
// netcode.ErrHandshake.
func readError(status int, body []byte) error {
	code, msg, ours := httpapi.ReadError(status, body)
	if !ours {
		msg = fmt.Sprintf("webrtc: signaling answered %d without an error body", status)
	}
	return &netcode.CodedError{Code: code, Msg: msg, Err: netcode.ErrHandshake}
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
