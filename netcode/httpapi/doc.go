// Package httpapi is tickwire's one HTTP JSON layer: the strict request
// decoder (DecodeJSON, DecodeOptionalJSON), the response writers
// (WriteJSON, WriteError), the one table from netcode.Code to HTTP status
// (Status), and the middleware (Wrap) that every endpoint runs behind: it
// sets the common headers and resolves the client address once per
// request (ClientIP), honouring X-Forwarded-For only from trusted proxies.
//
// Every error body has one shape, ErrorResponse:
//
//	{"error": "bad_request", "code": 15, "message": "unknown field \"x\""}
//
// Internal errors are logged through the logger Wrap was given and
// answered as "internal" without their text.
//
// It sits in netcode, below the engine, so that the engine, the services
// and the transports that speak HTTP (WebSocket, long-polling, WebRTC
// signaling) answer with the same bodies and statuses.
//
// Concurrency: everything here is stateless or per-request; Wrap's
// handler is safe for concurrent use.
package httpapi
