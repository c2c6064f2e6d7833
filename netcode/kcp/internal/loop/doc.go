// Package loop drives many kcp-go KCP cores from one goroutine, sans-IO:
// the state machine of every session (kcpgo.KCP: Input, Send, Recv and
// flush with an output callback) is owned by one Loop, and the Loop
// collects every session's outgoing datagrams into one batch that the
// caller writes with one system call (sendmmsg).
//
// It replaces what a kcp-go UDPSession does per session: no goroutine,
// no lock, no timer per session. One due-time heap orders the sessions
// that have something to do (data in flight or an acknowledgement owed);
// an idle session is in no queue at all and costs nothing until a
// datagram or a message arrives for it.
//
// Time is a parameter: the caller reads the clock once per loop pass and
// passes it to Input, Send and Flush; the Loop never calls time.Now. (The
// KCP cores keep kcp-go's own millisecond clock for RTTs and
// retransmission timeouts; the Loop orders sessions by the times it is
// given.)
//
// Concurrency: a Loop and its Sessions belong to one goroutine (the
// socket's event loop); nothing here locks. Datagrams returned by Flush
// stay valid until the next Input or Flush on the same Loop.
//
// The package knows no sockets and no wire format above KCP: each
// datagram is returned with Headroom bytes reserved in front for the
// caller's header (tickwire's type byte, token and packet number), and
// with the Session it belongs to.
package loop
