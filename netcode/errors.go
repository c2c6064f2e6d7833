package netcode

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Sentinel errors shared by every transport. Transports wrap them with %w.
var (
	ErrClosed          = errors.New("netcode: connection closed")
	ErrMessageTooLarge = errors.New("netcode: message too large")
	ErrWriteTimeout    = errors.New("netcode: write timeout")
	ErrIdleTimeout     = errors.New("netcode: idle timeout")
	ErrBadChannel      = errors.New("netcode: invalid channel")
	ErrHandshake       = errors.New("netcode: handshake failed")
	// ErrQueueFull: a Queuer's session cannot take more reliable data
	// (send window and queue full); the peer is not keeping up.
	ErrQueueFull = errors.New("netcode: send queue full")
)

// CloseError is what ReadMessage returns once the peer closed the
// connection with a code.
type CloseError struct {
	Code   Code
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("netcode: closed by peer: %s (%d): %s", e.Code, uint16(e.Code), e.Reason)
}

// Is makes errors.Is(err, ErrClosed) true for a CloseError.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// CodedError is an error that carries a protocol code, so that the layer
// that answers a peer can turn it into an Error frame.
type CodedError struct {
	Code Code
	Msg  string
	Err  error // optional cause
}

func (e *CodedError) Error() string {
	if e.Msg == "" {
		return e.Code.String()
	}
	return e.Code.String() + ": " + e.Msg
}

func (e *CodedError) Unwrap() error { return e.Err }

// Is matches another *CodedError with the same code, so that
// errors.Is(err, netcode.Errorf(CodeRoomFull, "")) works, as does
// errors.Is(err, CodeRoomFull).
func (e *CodedError) Is(target error) bool {
	switch t := target.(type) {
	case *CodedError:
		return t.Code == e.Code
	case Code:
		return t == e.Code
	}
	return false
}

// Errorf builds a *CodedError.
func Errorf(code Code, format string, args ...any) *CodedError {
	return &CodedError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf extracts the protocol code from err: the code of a wrapped
// *CodedError or Code, CodeInternal for any other non-nil error, and CodeOK
// for nil.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var ce *CodedError
	if errors.As(err, &ce) {
		return ce.Code
	}
	var c Code
	if errors.As(err, &c) {
		return c
	}
	return CodeInternal
}

// WriteFailure is the error a stream Conn (TCP, WebSocket) ends with when
// a write on its socket fails: a timeout means the peer does not read, a
// slow_consumer matching ErrWriteTimeout (timeout is the write bound, for
// the message); anything else matches ErrClosed. transport prefixes the
// message ("tcp").
func WriteFailure(transport string, timeout time.Duration, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &CodedError{Code: CodeSlowConsumer,
			Msg: fmt.Sprintf("%s: write blocked for %v", transport, timeout), Err: ErrWriteTimeout}
	}
	return fmt.Errorf("%w: write: %w", ErrClosed, err)
}
