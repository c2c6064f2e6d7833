// Package service declares how the engine's feature services (rooms,
// social) plug into sessions: the engine hands each service the frames of
// its kinds and tells it when sessions open and close; a service talks back
// to a session only through the non-blocking Peer.Send (or, to batch a
// broadcast, BatchPeer.Queue and Flush).
//
// The interfaces live here, apart from engine, so that services can be
// written and tested without importing the engine (and the engine can
// import them without a cycle).
package service

import (
	"context"
	"net/http"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Peer is one authenticated session as a service sees it. All methods are
// safe from any goroutine and never block.
type Peer interface {
	// SessionID is unique per connection for the life of the process.
	SessionID() uint64
	// UserID is the authenticated user (a guest has a generated id).
	UserID() string
	// DisplayName is what other users see.
	DisplayName() string
	// Guest reports whether the user has no account.
	Guest() bool
	// Send queues an encoded frame to the session's writer or, on a
	// transport driven by an event loop (KCP), hands it to the
	// transport and flushes (see BatchPeer). It never blocks: a full
	// unreliable queue drops its oldest frame; a full reliable queue
	// (or transport queue) closes the session (CodeSlowConsumer); a frame
	// too large for the transport is dropped, or if unreliable sent
	// reliably (the engine counts both). The bytes must not be
	// modified afterwards: the same slice may be queued to many peers.
	// It reports whether the frame was queued.
	Send(ch netcode.Channel, frame []byte) bool
	// Close ends the session with a code.
	Close(code netcode.Code, reason string)
}

// BatchPeer is an optional interface of a Peer, implemented by the
// engine's sessions, for a producer that sends to many peers at once (a
// room's tick broadcast): Queue to every recipient, then Flush each
// distinct peer once. On a transport driven by an event loop (KCP) Queue
// hands the frame to the loop without a system call and Flush sends what
// every session of that loop has queued in one batch, in the caller's
// goroutine (so the Flush of a second peer on the same loop is cheap);
// on other transports Queue is Send and Flush does nothing. Send is
// Queue then Flush. Neither blocks, but Flush (so Send too) may make a
// batched, non-blocking system call: a service that sends while holding
// a lock that a hot path waits on makes that path wait for the write;
// Queue under the lock and Flush after it instead.
type BatchPeer interface {
	Peer
	// Queue is Send without the flush: it has the same refusals and
	// result. A frame queued and never flushed still leaves within the
	// transport's flush delay: a missing Flush costs latency, not data.
	Queue(ch netcode.Channel, frame []byte) bool
	// Flush sends what was queued.
	Flush()
}

// Service handles a range of frame kinds for every session.
type Service interface {
	// Name identifies the service in logs and metrics.
	Name() string
	// Handles reports whether the service owns frames of kind k.
	Handles(k frame.Kind) bool
	// PeerOpened is called once a session is authenticated, before any
	// of its frames reach HandleFrame.
	PeerOpened(p Peer)
	// HandleFrame processes one frame of an owned kind. data is valid
	// only during the call. It must not block on other sessions. An error
	// is answered with an Error frame carrying netcode.CodeOf(err) and
	// the ref returned (the request id of the frame, 0 if none).
	HandleFrame(now time.Time, p Peer, ch netcode.Channel, k frame.Kind, data []byte) (ref uint32, err error)
	// PeerClosed is called once when the session ends, after its last
	// HandleFrame.
	PeerClosed(p Peer)
}

// Runner is an optional interface: a service with background work (the
// room tick driver, presence timers) is run by the engine for the life of
// the server and stopped when ctx is cancelled. Run returns once all its
// goroutines have ended.
type Runner interface {
	Run(ctx context.Context) error
}

// Router is an optional interface: a service that offers HTTP JSON
// endpoints registers them on the engine's mux (paths under /v1/).
type Router interface {
	Routes(mux *http.ServeMux)
}

// ActivityReporter is implemented by the engine's Peers: LastActivity is
// when the session last sent a frame that counts as user activity (any
// service frame, unless its service's ActivityFilter says otherwise;
// never Ping, Echo or other session-layer frames). A service that tracks
// idleness (presence) uses it so that a player busy in a room is not
// shown as away. The zero time means no activity yet.
type ActivityReporter interface {
	LastActivity() time.Time
}

// ActivityFilter is an optional interface of a Service: IsActivity
// reports whether a frame of kind k shows a user at the keyboard (a chat
// message does; an automatic delivery acknowledgement does not). Without
// it, every frame of the service's kinds counts.
type ActivityFilter interface {
	IsActivity(k frame.Kind) bool
}

// StatsReporter is an optional interface of a Service: ServiceStats
// returns a JSON-encodable snapshot of the service's own counters, which
// the engine serves under the service's Name in the "services" object of
// GET /v1/stats. It must be safe from any goroutine and must not block.
type StatsReporter interface {
	ServiceStats() any
}

// Drainer is an optional interface of a Service that refuses new work
// while the server drains (docs/OPERATIONS.md, "Drain"): the room hub
// refuses new rooms with netcode.CodeDraining. It must not block.
type Drainer interface {
	// Drain is called once, when the engine starts draining.
	Drain()
}

// Resumer is an optional interface of a Service that wants to know when
// a session's connection is lost and when the session resumes on a new
// one (docs/RESUME.md). Between PeerAway and PeerBack (or PeerClosed,
// when the resume window expires) the Peer stays open: its Sends of
// numbered frames are kept for the replay, unreliable ones are dropped.
// A service without it sees nothing of a resume. The calls for one Peer
// never overlap and come in order: PeerAway, then PeerBack or
// PeerClosed. They must not block.
type Resumer interface {
	PeerAway(p Peer)
	PeerBack(p Peer)
}
