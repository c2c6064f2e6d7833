package bench

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what a user's terminal looks like
// to tickbench (the tty end) and what the terminal emulator reads (ptm).
func openPTY(t *testing.T) (ptm, tty *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ptm.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tty.Close() })
	return ptm, tty
}

// On a terminal the bar is live: it is redrawn while the work runs.
func TestBarDrawsOnATerminal(t *testing.T) {
	ptm, tty := openPTY(t)
	require.True(t, IsTerminal(tty))
	mk := Bar(tty)
	require.NotNil(t, mk)
	got := make(chan string, 64)
	go func() { // ends when the cleanup below hangs up the terminal
		buf := make([]byte, 4096)
		for {
			n, err := ptm.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()
	t.Cleanup(func() {
		_ = tty.Close() // the last tty end closed: ptm's reads fail with EIO
		for range got { // wait for the reader to end
		}
	})
	p := mk("echo kcp", 100)
	t.Cleanup(p.Stop) // runs before the hang-up above, also when a check fails
	p.Add(40)
	var seen string
	// a real pty: synctest cannot see terminal I/O
	require.Eventually(t, func() bool {
		for {
			select {
			case s := <-got:
				seen += s
			default:
				return len(seen) > 0 && strings.Contains(seen, "40/100")
			}
		}
	}, 5*time.Second, 10*time.Millisecond, "the bar shows progress before the work ends")
	p.Add(60)
	p.Stop()
	// a real pty: synctest cannot see terminal I/O
	require.Eventually(t, func() bool {
		for {
			select {
			case s := <-got:
				seen += s
			default:
				return strings.Contains(seen, "100/100")
			}
		}
	}, 5*time.Second, 10*time.Millisecond)
	assert.Contains(t, seen, "echo kcp")
}

// Anything that is not a terminal (a file, a pipe: CI, make | tee) gets
// no bar at all.
func TestBarQuietWhenNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, IsTerminal(f))
	assert.Nil(t, Bar(f))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.Nil(t, Bar(w))
	assert.Nil(t, Bar(nil))
	var env Env
	env.bar("x", 1).Add(1) // no factory: a nil bar, a no-op
}
