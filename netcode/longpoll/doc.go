// Package longpoll is tickwire's transport of last resort: HTTP
// long-polling and polling, for networks where neither UDP nor a
// WebSocket gets through. docs/LONGPOLL.md explains it; docs/PROTOCOL.md
// §2.5 has the routes and the batch format byte for byte (batch.go has it
// beside the constants).
//
// A client opens a session with its bearer token (POST /v1/lp/open,
// checked before anything is allocated), then sends numbered frames in
// POST batches and fetches the server's numbered frames with GET requests
// that the server holds until frames are ready or the wait passes (wait=0
// is plain polling). Each direction keeps its frames until the other side
// acknowledges them, so a lost response loses nothing, and applies each
// sequence number once, so a repeated request duplicates nothing. The
// unreliable channel rides the same numbered stream; when a window is
// full its oldest frame not yet sent is dropped.
//
// Concurrency contract: a Conn (either end) allows one goroutine in
// ReadMessage and any number in WriteMessage; Close, Stats and the
// address methods are safe from any goroutine. A server session's state
// is guarded by one mutex, shared by its HTTP requests, the engine's
// reader and writer and the listener's janitor; nothing does I/O under
// it. The Listener owns one goroutine (the janitor: idle timeouts and
// lingering close records), which Shutdown stops and waits for; HTTP
// requests run on the HTTP server's goroutines. A client Conn owns two
// goroutines (the poller and the sender), which Close stops and waits
// for.
package longpoll
