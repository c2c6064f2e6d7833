package main

import (
	"testing"

	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestMain checks that no test leaves a goroutine behind once run has
// returned. kcp-go's process-wide scheduler and post-processing workers
// are started once and live for the process; they are not ours to stop.
func TestMain(m *testing.M) {
	conntest.VerifyTestMain(m)
}
