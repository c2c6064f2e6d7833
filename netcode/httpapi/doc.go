// Package httpapi is tickwire's one HTTP JSON layer: the strict request
// decoder (DecodeJSON, DecodeOptionalJSON), the response writers
// (WriteJSON, WriteError), the one table from netcode.Code to HTTP status
// (Status), and the middleware (Wrap) that every endpoint runs behind: it
// sets the common headers, resolves the client address once per request
// (ClientIP), honouring X-Forwarded-For only from trusted proxies, and
// answers CORS for browser pages on other origins.
//
// OriginPolicy is the server's one origin rule: Wrap's CORS and the
// WebSocket upgrade's Origin check (netcode/ws) both apply it, so a page
// allowed to call the API may open a WebSocket and no other.
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
// Concurrency: everything here is stateless, per-request or immutable
// (an OriginPolicy) except CORSCounters, which are atomics; Wrap's
// handler is safe for concurrent use.
package httpapi
