package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// VoicePath is where the assembly mounts the SFU's signaling: a browser
// session already in a voice room posts its audio offer there
// (docs/VOICE.md, "Browsers and the SFU").
const VoicePath = "/v1/rtc/voice"

// maxVoiceOffer caps an audio offer's body (an Opus offer with a few
// m-lines and candidates is 3–6 KiB).
const maxVoiceOffer = 16 << 10

// voiceHandler is POST /v1/rtc/voice?session=S&room=R with
// "Authorization: Bearer <token>" and an application/sdp offer: session S
// must be the token's user's and a member of voice room R. The answer is
// application/sdp (201). Nothing is allocated before the token, the body
// and the membership are checked.
type voiceHandler struct {
	accts *accounts.Service
	rooms *rooms.Hub
	ans   netcode.AudioAnswerer
}

func (v *voiceHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	claims, err := v.accts.Authenticate(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadRequest, "voice: Content-Type must be application/sdp"))
		return
	}
	q := r.URL.Query()
	sid, err1 := strconv.ParseUint(q.Get("session"), 10, 64)
	rid, err2 := strconv.ParseUint(q.Get("room"), 10, 64)
	if err1 != nil || err2 != nil {
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadRequest, "voice: session and room must be decimal ids"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxVoiceOffer))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeFrameTooLarge, "voice: offer above %d bytes", maxVoiceOffer))
			return
		}
		httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadRequest, "voice: reading the offer: %v", err))
		return
	}
	m, err := v.rooms.AttachAudio(claims.UserID, sid, rid)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	link, answer, err := v.ans.AnswerAudio(r.Context(), body, clientAddr(r), m)
	if err != nil {
		m.Detach()
		httpapi.WriteError(w, r, err)
		return
	}
	m.SetLink(link)
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer) // the client sees a broken answer; the link times out
}
