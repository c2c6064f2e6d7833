package client_test

import (
	"testing"

	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestMain checks that no test leaves a goroutine behind: every Client
// must have ended its reader and pinger when Close returns, and every
// test server its sessions. kcp-go's process-wide scheduler and
// post-processing workers are started once and live for the process; they
// are not ours to stop.
func TestMain(m *testing.M) {
	conntest.VerifyTestMain(m)
}
