package main

import (
	"os"
	"testing"

	"github.com/tickwire/tickwire/netcode/conntest"
)

// childEnv, when set to "1", makes the test binary run the real main()
// instead of the tests: signal_test.go starts it as a child process.
const childEnv = "TICKWIRE_TEST_RUN_MAIN"

// TestMain checks that no test leaves a goroutine behind once run has
// returned (kcp-go's process-wide workers excepted).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	conntest.VerifyTestMain(m)
}
