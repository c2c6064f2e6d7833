// Package netcode is the vocabulary every tickwire transport speaks: a Conn
// that carries whole messages on a reliable-ordered and an unreliable
// channel, a Listener that accepts them, the protocol's error and close
// codes, and per-connection statistics.
//
// Transports (netcode/kcp, netcode/tcp, and later WebSocket, long-polling
// and WebRTC data channels) implement Conn and Listener; the engine depends
// only on these interfaces. netcode and its transports never import engine
// or room.
//
// Concurrency contract: a Conn allows one goroutine calling ReadMessage and
// one goroutine calling WriteMessage at the same time; Close, Stats and the
// address methods may be called from any goroutine at any time.
package netcode
