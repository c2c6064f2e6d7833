// Package tcp is tickwire's framed TCP fallback transport: one TCP stream
// carries length-prefixed records, each a reliable message, an unreliable
// message, a heartbeat or a close notification. docs/TCP.md documents the
// record layout; record.go has it beside the constants.
//
// The unreliable channel is carried reliably and in order (TCP offers
// nothing else); the engine session's writer queue is what drops unreliable
// frames, oldest first, when a slow client backs it up.
//
// Concurrency contract: a *Conn allows one goroutine in ReadMessage and any
// number in WriteMessage (writes are serialised by a mutex around one write
// of a pre-built record, so records never interleave). Close, Stats and the
// address methods are safe from any goroutine. Each Conn owns one
// heartbeat goroutine, which Close stops and waits for. A *Listener is safe
// for concurrent use; its Close is idempotent and leaves accepted Conns
// open.
package tcp
