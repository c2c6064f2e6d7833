package kcp

import "errors"

// Errors returned by this package besides the netcode sentinels.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("kcp: invalid config")
	// ErrMalformed reports a datagram or stream that cannot be decoded.
	ErrMalformed = errors.New("kcp: malformed datagram")
)
