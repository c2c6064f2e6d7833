package httpapi

import "errors"

// ErrBadOrigin is returned by NewOriginPolicy for a pattern that is not
// "*", [scheme://]host[:port] or [scheme://]*.domain[:port].
var ErrBadOrigin = errors.New("httpapi: bad origin pattern")
