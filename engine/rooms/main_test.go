package rooms

import (
	"testing"

	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestMain checks that no test leaves a goroutine behind: Run returns
// only after its workers ended, and the loopback tests' servers and
// clients end theirs. kcp-go's process-wide goroutines are not ours.
func TestMain(m *testing.M) {
	conntest.VerifyTestMain(m)
}
