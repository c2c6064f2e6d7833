package bench

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses must not shift fields.
	stat := "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 100 1000 200 18446744073709551615"
	cpu, err := parseStatCPU(stat)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, cpu) // (250+50) ticks at 100 Hz
	_, err = parseStatCPU("garbage")
	require.ErrorIs(t, err, ErrNoProc)
	_, err = parseStatCPU("1 (x) S 1 2")
	require.ErrorIs(t, err, ErrNoProc)
}

func TestParseStatus(t *testing.T) {
	rss, hwm := parseStatusMem("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t4\n")
	assert.EqualValues(t, 1024*1024, rss)
	assert.EqualValues(t, 2048*1024, hwm)
}

func TestReadProcSelf(t *testing.T) {
	a, err := ReadProc(os.Getpid())
	require.NoError(t, err)
	// Burn a little CPU so the difference is visible.
	deadline := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	b, err := ReadProc(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, x)
	u := Usage(os.Getpid(), "test", a, b)
	assert.Positive(t, u.RSSBytes)
	assert.GreaterOrEqual(t, u.HWMBytes, u.RSSBytes)
	assert.GreaterOrEqual(t, u.CPUS, 0.0)
	assert.Positive(t, u.WallS)
	assert.Contains(t, u.String(), "CPU")
	_, err = ReadProc(-1)
	require.ErrorIs(t, err, ErrNoProc)
}
