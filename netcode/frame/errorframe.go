package frame

import (
	"errors"

	"github.com/tickwire/tickwire/netcode"
)

// ErrorOf is the Error frame that answers a request (ref) which failed
// with err: its code is netcode.CodeOf(err) and its message the
// CodedError's own text (without the code's name, which travels beside
// it), cut to MaxMessageLen. An error without a code is CodeInternal and
// its text is not shown to the peer ("internal error"): the caller logs
// it. Every layer that answers a peer asynchronously (a service's
// worker) builds its Error frame here, as the engine's session does.
func ErrorOf(err error, ref uint32) Error {
	code := netcode.CodeOf(err)
	msg := err.Error()
	var ce *netcode.CodedError
	if errors.As(err, &ce) {
		msg = ce.Msg
	}
	if code == netcode.CodeInternal {
		msg = "internal error"
	}
	return Error{Code: code, Message: netcode.TruncateUTF8(msg, MaxMessageLen), Ref: ref}
}
