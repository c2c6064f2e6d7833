package impair

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: Close waits
// for every pump, reader and timer loop of a proxy.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
