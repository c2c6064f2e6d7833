// Package benchserver assembles the tickwire server that tickbench runs
// in-process and behind "tickbench serve": the public server assembly with the
// benchmark limits (BenchFrameRate, BenchMessageRate, BenchRegistrations).
// It keeps the bench library free of the server: bench builds on the
// client and takes this constructor through bench.LocalConfig.Tickwire
// (cmd/tickbench and bench's tests pass it).
//
// Concurrency contract: Start returns a running *server.Server, which owns
// its goroutines; its Shutdown stops them and is idempotent.
package benchserver
