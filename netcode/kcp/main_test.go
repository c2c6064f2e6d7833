package kcp

import (
	"testing"

	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestMain checks that no test leaves a goroutine of ours behind (kcp-go's
// process-wide workers excepted).
func TestMain(m *testing.M) { conntest.VerifyTestMain(m) }
