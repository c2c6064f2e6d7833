package tcp

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: a closed Conn
// has stopped its heartbeat goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
