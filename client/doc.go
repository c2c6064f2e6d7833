// Package client is tickwire's Go SDK: it gets a guest token over HTTP,
// dials a server over any transport (Options.Dial: kcp.Dialer, tcp.Dialer,
// or any function returning a netcode.Conn), performs the Hello/Welcome
// handshake, sends frames on either channel, delivers what arrives through
// a handler or a bounded channel, matches replies to requests by ref
// (Call), and keeps an estimate of the round-trip time and of the server's
// clock offset with periodic Pings.
//
// KCP sessions are sealed; kcp.DialerFromHTTP(ctx, nil, httpBase, "",
// kcp.Config{}) builds a dialer that pins the server's key from its HTTP
// API (GET /v1/kcp), so that only the real server can answer.
//
// In a cluster (docs/CLUSTER.md) a room join answered with a RoomRedirect
// is followed by itself (Options.Redirect): a second session on the room's
// node, same token and options, joined with the redirect's ticket; the
// Room returned works over it (Room.Node) and its pushes arrive here.
//
// Concurrency contract: a Client is safe for concurrent use. It owns two
// goroutines, a reader and a pinger, and Close waits for both. A Handler,
// when set, runs on the reader goroutine: it must not block for long and
// must not call Close. Messages() is closed when the client ends.
package client
