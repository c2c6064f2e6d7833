// Package cluster joins a tickwire node to a cluster of nodes over NATS:
// membership (who is live, who died), the room directory (which node
// owns which room, docs/CLUSTER.md) and the redirect tickets that send a
// client to a room's owner.
//
// A Node connects to NATS (a list of URLs, reconnecting forever with an
// exponential backoff; what is published meanwhile waits in a bounded
// buffer, and a publish past it is counted and dropped), announces
// itself every HeartbeatInterval on <prefix>.node.hb and says goodbye on
// <prefix>.node.bye when it closes. Every node keeps the table of the
// others: a node not heard for MissedHeartbeats intervals is gone, so a
// crash is noticed within Config.DeathBound (3.25 s by default) and a
// clean shutdown at once. OnNodeGone and OnNodeUp tell other services.
// While a node cannot reach NATS it declares nobody gone (it cannot hear
// anyone, which says nothing about them) and takes the first heartbeats
// after its return as fresh.
//
// Embedded runs a NATS server in process, for a single node or a
// development setup; internal/natstest runs one per test.
//
// A Directory keeps this node's rooms (published as events on
// <prefix>.dir.ev.<node>) and a replica of every other live node's, which
// answers the hub's questions (where is room X, the best room of this
// type and label elsewhere, how many rooms has this user created) from
// memory. Tickets sign redirects with a key derived from the nodes' shared
// token key; the owner redeems each once, before it expires.
//
// Concurrency: one goroutine per Node (the membership loop) owns the
// membership table and runs the callbacks, in order; Node.mu guards the
// table for readers (Live, Lookup) and is never held across I/O or a
// callback. A Directory's replica of the other nodes is guarded by
// Directory.mu and this node's own rooms by Directory.ownMu (never held
// together: Publish on every seat change never waits behind a walk of
// the replica), both taken by the hub's calls (after the hub's own
// lock), by the NATS subscription
// callbacks (events, snapshot requests) and by its two goroutines: the
// publisher (coalesced changes out, the ticket sweep) and the syncer
// (snapshots of nodes found behind, one at a time); neither holds the
// lock across I/O. Close waits for them; close a Directory before its
// Node.
package cluster
