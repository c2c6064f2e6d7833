package engine

import "errors"

// Errors returned by the Engine.
var (
	// ErrServerClosed is returned by Run after Shutdown, and by Serve
	// once the engine has shut down.
	ErrServerClosed = errors.New("engine: server closed")
	// ErrBadConfig wraps every configuration error New returns.
	ErrBadConfig = errors.New("engine: bad config")
)
