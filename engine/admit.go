package engine

import (
	"context"
	"net"

	"github.com/tickwire/tickwire/netcode"
)

// VerifyToken checks a bearer token as Hello does (signature, expiry and
// Config.TokenCheck, e.g. revocation) without opening a session. A
// transport that must not allocate anything for a stranger (a WebRTC
// offer, a long-poll open) calls it first; the session's Hello is still
// checked again. The error carries the code Hello would answer with.
func (e *Engine) VerifyToken(ctx context.Context, token string) error {
	claims, err := e.signer.Verify(token, e.cfg.Now())
	if err != nil {
		return err
	}
	if e.cfg.TokenCheck != nil {
		return e.cfg.TokenCheck(ctx, claims) // uncoded: internal, as Hello answers
	}
	return nil
}

// Admit reports whether a session from addr would pass the session caps
// (MaxSessions, MaxSessionsPerIP) now, with CodeTooManySessions when not.
// It reserves nothing: the caps are checked again when the transport's
// Listener hands the connection over. A transport calls it before
// allocating for a new peer (a PeerConnection, a long-poll session), and
// counts the refusal itself.
func (e *Engine) Admit(addr net.Addr) error {
	ip, hasIP := ipKey(addr)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return netcode.Errorf(netcode.CodeServerShutdown, "server shutting down")
	}
	if refused, reason := e.capLocked(ip, hasIP); refused >= 0 {
		return netcode.Errorf(netcode.CodeTooManySessions, "%s", reason)
	}
	return nil
}
