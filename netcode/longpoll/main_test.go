package longpoll

import (
	"testing"

	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestMain checks that no test leaves a goroutine behind: closed client
// Conns have ended their poller and sender, shut-down Listeners their
// janitor, and HTTP connections are released.
func TestMain(m *testing.M) { conntest.VerifyTestMain(m) }
