//go:build race

package tcp

// raceEnabled: the race detector makes sync.Pool drop items at random,
// so pooled buffers (crypto/tls's) are allocated again now and then.
const raceEnabled = true
