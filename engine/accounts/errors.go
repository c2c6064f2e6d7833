package accounts

import "github.com/tickwire/tickwire/netcode"

// Errors returned by the store and the service. All are coded, so
// netcode.CodeOf gives the code the client sees; match them with
// errors.Is (a *netcode.CodedError matches any error with the same code).
var (
	ErrUserNotFound       = &netcode.CodedError{Code: netcode.CodeUserNotFound, Msg: "no such user"}
	ErrUsernameTaken      = &netcode.CodedError{Code: netcode.CodeUsernameTaken, Msg: "username already registered"}
	ErrInvalidCredentials = &netcode.CodedError{Code: netcode.CodeInvalidCredentials, Msg: "invalid username or password"}
	ErrTokenRevoked       = &netcode.CodedError{Code: netcode.CodeTokenRevoked, Msg: "token revoked"}
	ErrLoginRateLimited   = &netcode.CodedError{Code: netcode.CodeLoginRateLimited, Msg: "too many login attempts"}
	ErrNotAuthenticated   = &netcode.CodedError{Code: netcode.CodeNotAuthenticated, Msg: "missing bearer token"}
)

// Refusals for capacity limits: the request was well-formed and may be
// retried later (HTTP 503 with Retry-After).
var (
	ErrServerBusy           = &netcode.CodedError{Code: netcode.CodeServerBusy, Msg: "too many password hashes in progress"}
	ErrGuestRevocationsFull = &netcode.CodedError{Code: netcode.CodeServerBusy, Msg: "too many guest logouts in force"}
)
