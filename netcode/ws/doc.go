// Package ws is tickwire's WebSocket transport (github.com/coder/websocket)
// for browsers and for clients behind proxies that pass only HTTP. It
// mounts one GET route (DefaultPath, "/v1/ws") on the assembly's HTTP
// server; every tickwire message is one binary WebSocket message whose
// first byte says its channel (wire.go has the layout beside the
// constants; docs/WS.md and docs/PROTOCOL.md §2.3 document it).
//
// The unreliable channel is carried reliably and in order, as on TCP; the
// engine session's writer queue is what drops unreliable frames, oldest
// first, when a slow client backs it up.
//
// Strangers are refused before the upgrade allocates a connection:
// origin policy (httpapi.OriginPolicy, the one the HTTP API's CORS
// applies), the engine's session caps (netcode.Env.Admit), an
// optional bearer token, a cap on upgraded connections that have not sent
// their first message (MaxPending) and on those waiting for Accept
// (AcceptBacklog); each refusal has a coded JSON answer and a counter.
//
// Concurrency contract: a *Conn allows one goroutine in ReadMessage and
// any number in WriteMessage (writes are serialised by a mutex around one
// library write of a pre-built message). Close, Stats and the address
// methods are safe from any goroutine. Each Conn owns one goroutine
// (heartbeats, the idle and first-message timers), which Close stops and
// waits for; the WebSocket library starts none. A *Listener is safe for
// concurrent use; its ServeHTTP runs on the HTTP server's goroutines and
// returns once the connection is queued for Accept; its Close is
// idempotent, closes the connections not yet accepted and leaves accepted
// Conns open.
package ws
