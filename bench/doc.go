// Package bench is the library behind tickbench: latency histograms,
// scenario drivers (echo, room, connect, chat), baselines (a plain UDP
// echo, kcp-go alone, and the udp-raw room relay: the raw-UDP floor of
// the room workload), impairment wiring, /proc sampling and the
// report writers (terminal table, JSON, self-contained HTML with SVG
// plots).
//
// Concurrency contract: a Histogram is owned by one goroutine (the
// receiver that records into it) and is read only after that goroutine
// has stopped. Each scenario run owns every goroutine it starts and
// waits for all of them before it returns; runs are bounded by a count
// and by a deadline taken from the Config and from the context, and stop
// by themselves. Reports are plain values, safe to share once built.
package bench
