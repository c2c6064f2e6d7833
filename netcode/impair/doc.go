// Package impair puts a bad network between a client and a server on one
// machine: a UDP proxy and a TCP proxy that apply loss (independent, or in
// bursts by a Gilbert–Elliott model), delay, jitter, reordering,
// duplication and a bandwidth cap, each direction separately,
// driven by a seeded random source so that a run can be repeated. The
// benchmark tool (tickbench) and transport tests use it; docs/IMPAIR.md
// describes the model.
//
// The impairment decisions live in a sans-IO core, Link: given a packet's
// size, the current time and the queue occupancy it returns zero, one or
// two delivery times. The proxies are thin drivers around it: each
// direction has one scheduler goroutine that owns a timer heap and writes
// packets when they fall due (no goroutine per packet).
//
// TCP hides loss, duplication and reordering from the application (they
// become retransmission delay), so the TCP proxy only delays and throttles
// and NewTCPProxy refuses a Config asking for more; Config.ForTCP strips
// those knobs and says which were dropped.
//
// Concurrency contract: a Link is owned by one goroutine (or guarded by
// its owner's mutex). UDPProxy and TCPProxy are safe for concurrent use;
// every goroutine they start is waited for by Close, which is idempotent.
package impair
