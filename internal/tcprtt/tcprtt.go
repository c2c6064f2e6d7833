// Package tcprtt reads the kernel's smoothed round-trip time of a TCP
// connection (TCP_INFO's tcpi_rtt on Linux), for the transports that run
// over TCP streams (TCP, WebSocket, long-poll) and report it through
// their RTT method (netcode.RTTer), not in Stats.
//
// It costs one getsockopt system call: call it when a snapshot is asked
// for (a metrics sample, an admin listing), never per message.
package tcprtt

import (
	"net"
	"syscall"
	"time"
)

// Of is c's smoothed RTT as the kernel measures it, or 0 where it cannot
// be read (not a TCP socket, a closed one, another OS). A *tls.Conn, or
// any wrapper with a NetConn method, is unwrapped first.
func Of(c net.Conn) time.Duration {
	for range 4 { // a few layers at most: tls.Conn over a counting wrapper over a TCPConn
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = w.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	return rawRTT(raw)
}
