package server

import "errors"

// ErrBadConfig matches the errors Start returns for Config.Routes it
// refuses: a pattern that could capture the API's paths, is malformed or
// conflicts with another route, a nil handler, or routes without the HTTP
// server. Start has then closed whatever it had opened.
var ErrBadConfig = errors.New("server: invalid config")
