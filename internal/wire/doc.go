// Package wire assembles a complete tickwire server: the KCP and TCP
// listeners, the engine with its services, and the HTTP API. It is what
// cmd/tickwire runs, and what tests (through wiretest) and tickbench's
// in-process mode start.
//
// Concurrency contract: Start returns a running Server whose goroutines
// (the engine's Run and the HTTP server) are owned by it; Shutdown stops
// everything and waits for them. Shutdown is idempotent.
package wire
