package room

import (
	"fmt"

	"github.com/tickwire/tickwire/netcode"
)

// Errors returned by Room methods. Each carries the protocol code the
// engine answers with (netcode.CodeOf).
var (
	ErrFull      = &netcode.CodedError{Code: netcode.CodeRoomFull, Msg: "room is full"}
	ErrNotMember = &netcode.CodedError{Code: netcode.CodeNotInRoom, Msg: "not a member of this room"}
	ErrClosed    = &netcode.CodedError{Code: netcode.CodeRoomClosed, Msg: "room is closed"}
	ErrCrashed   = &netcode.CodedError{Code: netcode.CodeRoomCrashed, Msg: "room handler failed"}
	ErrBadConfig = &netcode.CodedError{Code: netcode.CodeBadRoomConfig, Msg: "invalid room config"}
)

// PanicError records a panic inside a room handler. It matches ErrCrashed
// and netcode.CodeRoomCrashed.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the handler goroutine's stack at the panic
	In    string // the handler method that panicked
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("room: handler panicked in %s: %v", e.In, e.Value)
}

// Unwrap makes errors.Is(err, ErrCrashed) and netcode.CodeOf work.
func (e *PanicError) Unwrap() error { return ErrCrashed }
