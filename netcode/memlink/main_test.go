package memlink

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that every Link's scheduler is gone after its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
