package webrtc

import "errors"

// ErrBadConfig is returned by Listen and Dial for an invalid Config.
var ErrBadConfig = errors.New("webrtc: invalid config")

// ErrConnectTimeout is the cause of a session whose data channels did not
// open within Config.ConnectTimeout. Dial's error matches it and
// netcode.ErrHandshake.
var ErrConnectTimeout = errors.New("webrtc: data channels not open within the connect timeout")
