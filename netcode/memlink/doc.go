// Package memlink is an in-memory, lossy datagram link for protocol tests:
// two net.PacketConn endpoints joined by a link that drops, delays,
// jitters, reorders and duplicates datagrams per direction, driven by a
// seeded random source so that a test run is repeatable.
//
// Concurrency: a Link owns one scheduler goroutine that delivers delayed
// datagrams (no goroutine per packet); Close stops it and waits for it.
// Endpoints are safe for concurrent use like any net.PacketConn; one
// datagram is one ReadFrom. Direction settings may be changed at any time
// with SetAToB/SetBToA. The endpoints are plain structs, not wrappers
// around a socket, so libraries that probe for *net.UDPConn methods
// (batch I/O) always use WriteTo/ReadFrom.
package memlink
