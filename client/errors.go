package client

import "errors"

// Errors returned by the client.
var (
	// ErrClosed is returned by calls on a client that has ended.
	ErrClosed = errors.New("client: closed")
	// ErrBadTransport names an unknown Options.Transport.
	ErrBadTransport = errors.New("client: unknown transport")
	// ErrUnexpectedFrame is returned by Dial when the server answers Hello
	// with something other than Welcome, Error or Close.
	ErrUnexpectedFrame = errors.New("client: unexpected frame")
)
