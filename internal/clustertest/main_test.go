package clustertest_test

import (
	"testing"

	"github.com/tickwire/tickwire/internal/pgtest"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// One PostgreSQL server for the binary (pgtest), and no goroutine left
// behind by any test's nodes (kcp-go's process-wide ones are not ours).
func TestMain(m *testing.M) { conntest.VerifyTestMain(pgtest.M(m)) }
