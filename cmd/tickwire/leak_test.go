package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childEnv, when set to "1", makes the test binary run the real main()
// instead of the tests: signal_test.go starts it as a child process.
const childEnv = "TICKWIRE_TEST_RUN_MAIN"

// TestMain checks that no test leaves a goroutine behind once run has
// returned. kcp-go's process-wide scheduler and post-processing workers
// are started once and live for the process; they are not ours to stop.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/xtaci/kcp-go/v5.(*TimedSched).run"),
		goleak.IgnoreAnyFunction("github.com/xtaci/kcp-go/v5.postProcessWorker"),
	)
}
