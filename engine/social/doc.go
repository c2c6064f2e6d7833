// Package social is tickwire's social service: friends (request, accept,
// decline, remove, block), groups (open or invite-only; join, invite,
// accept, leave, remove, roles), direct and group messages with history
// and offline delivery, and presence (online, away, offline, custom
// status) pushed in real time to friends, the WebRTC signaling relay
// (signal.go) and calls between friends (calls.go, with the sans-IO call
// state machine in callcore.go; docs/VOICE.md). It plugs into the engine as a
// service.Service (frame kinds 64–127), a service.Router (HTTP JSON under
// /v1/social/) and a service.Runner (presence timers, backlog delivery,
// acknowledgement flushing). docs/SOCIAL.md describes the behaviour and
// docs/PROTOCOL.md (section 5) every frame.
//
// Delivery: every message gets a monotonic id (INTEGER PRIMARY KEY
// AUTOINCREMENT) and a timestamp and is committed before the sender is
// answered. Messages are inserted and fanned out under one mutex (writeMu),
// so every session receives its user's messages in increasing id order;
// that lets each user keep one acknowledgement cursor (every id up to
// the cursor was received), and a session that logs in receives, in id
// order, every message addressed to its user above the cursor. Backlog
// is sent in windows that advance with the client's acknowledgements, so a
// session's reliable queue never overflows because of it.
//
// Concurrency contract: all exported methods are safe for concurrent use.
// HandleFrame, called on a session's reader, does no I/O: it decodes a
// request and queues it to the user's request worker (inbox.go; one user's
// requests always go to the same worker, in order), refusing it with
// CodeServerBusy rather than waiting when the queue is full. The workers
// do the Store calls and answer through Peer.Send. PeerClosed takes effect
// once the session's queued requests have run.
// Two mutexes, each guarding only what its comment says:
//   - Service.mu guards the in-memory hub (online users, their sessions,
//     presence, cached friend sets, dirty acknowledgement cursors, and
//     every call: it is the one owner of the call state machine). It is
//     never held across a database call; Peer.Send, which never blocks, is
//     called under it.
//   - Service.writeMu serialises message inserts with their fan-out and
//     group membership changes with the group cache. It is held across
//     the database write of one message or membership change (by request
//     workers and HTTP handlers, never a session's reader) and takes mu
//     inside it (never the other way round).
//
// Run owns every background goroutine (request workers, backlog workers
// and the timer loop) and returns once they have ended; time enters the presence logic
// only as a parameter, so tests drive it with a fake clock.
package social
