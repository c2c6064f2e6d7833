package ws

import (
	"testing"

	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestMain checks that no test leaves a goroutine behind: every
// connection's reader, writer and heartbeat ended, every server shut down.
func TestMain(m *testing.M) { conntest.VerifyTestMain(m) }
