// Package e2e holds tickwire's end-to-end tests and benchmarks: a full
// server (the public assembly, via server/servertest) on loopback sockets, driven by the Go
// client SDK and by raw transport connections, over both KCP and TCP.
package e2e
