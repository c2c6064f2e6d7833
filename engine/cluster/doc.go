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
// Concurrency: one goroutine per Node (the membership loop) owns the
// membership table and runs the callbacks, in order; Node.mu guards the
// table for readers (Live, Lookup) and is never held across I/O or a
// callback. Close waits for the loop.
package cluster
