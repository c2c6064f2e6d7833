package cluster

import (
	"testing"

	"go.uber.org/goleak"
)

// Every node, directory and NATS server a test starts is closed by it:
// no goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
