package webrtc

import (
	"testing"

	"github.com/tickwire/tickwire/netcode/conntest"
)

// TestMain checks that no test leaves a goroutine behind: every
// PeerConnection closed, every mux closed.
func TestMain(m *testing.M) { conntest.VerifyTestMain(m) }
