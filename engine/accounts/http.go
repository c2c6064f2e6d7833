package accounts

import "github.com/tickwire/tickwire/netcode/httpapi"

// DefaultMaxBodyBytes bounds the request bodies of the accounts API.
const DefaultMaxBodyBytes = 4 << 10

// ErrorResponse is the body of every error the accounts API answers: the
// one error shape of the whole HTTP API (netcode/httpapi), e.g.
//
//	{"error": "invalid_credentials", "code": 203, "message": "invalid username or password"}
type ErrorResponse = httpapi.ErrorResponse

// RateLimitError is a refusal with the time to wait (login and register
// rate limits, a full hashing queue); the HTTP API answers it with
// Retry-After. Its code is that of Err.
type RateLimitError = httpapi.RetryAfterError
