package client

import "errors"

// Errors returned by the client.
var (
	// ErrClosed is returned by calls on a client that has ended.
	ErrClosed = errors.New("client: closed")
	// ErrNoDial: Options.Dial is required.
	ErrNoDial = errors.New("client: Options.Dial is not set")
	// ErrUnexpectedFrame is returned by Dial when the server answers Hello
	// with something other than Welcome, Error or Close.
	ErrUnexpectedFrame = errors.New("client: unexpected frame")
)
