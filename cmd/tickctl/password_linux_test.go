//go:build linux

package main

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the master end the test types into
// and reads the echo from, and the terminal tickctl reads.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	return master, tty
}

func echoOn(t *testing.T, tty *os.File) bool {
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	return tio.Lflag&unix.ECHO != 0
}

// TestPasswordPromptNoEcho types a password on a real terminal: it is
// read, never echoed, and echo is back on afterwards.
func TestPasswordPromptNoEcho(t *testing.T) {
	master, tty := openPTY(t)
	defer tty.Close()
	require.True(t, echoOn(t, tty))

	// Everything the terminal shows, until the master is closed.
	shown := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once tty and master close
		shown <- string(b)
	}()
	var stderr bytes.Buffer
	a := &app{stdin: tty, stderr: &stderr, getenv: func(string) string { return "" }}
	type res struct {
		pw  string
		err error
	}
	got := make(chan res, 1)
	go func() {
		pw, err := a.password("", existingPassword)
		got <- res{pw, err}
	}()

	// Type only once echo is off, as a person would after the prompt.
	deadline := time.Now().Add(10 * time.Second)
	for echoOn(t, tty) {
		require.True(t, time.Now().Before(deadline), "echo never turned off")
		time.Sleep(time.Millisecond)
	}
	_, err := master.Write([]byte("s3cret-word\n"))
	require.NoError(t, err)
	r := <-got
	require.NoError(t, r.err)
	assert.Equal(t, "s3cret-word", r.pw)
	assert.Equal(t, "Password: \n", stderr.String())
	assert.True(t, echoOn(t, tty), "echo restored")

	// A marker written after the read orders the output: whatever was
	// echoed comes before it.
	_, err = tty.Write([]byte("END\n"))
	require.NoError(t, err)
	require.NoError(t, tty.Close())
	out := <-shown
	require.NoError(t, master.Close())
	assert.Contains(t, out, "END")
	assert.False(t, strings.Contains(out, "s3cret"), "the password was echoed: %q", out)
}
