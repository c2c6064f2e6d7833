package alarm

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Alarm fires once per Set, at the time it was last set to. One
// goroutine calls Wait; any goroutine may call Set and Close.
type Alarm struct {
	f   *os.File // the timerfd, non-blocking: Read parks in the poller
	buf [8]byte  // Wait's read buffer (the expiration count)

	mu     sync.Mutex // Set against Close: never arm a closed (reused) fd
	fd     int
	closed bool
}

// New returns an unset Alarm.
func New() (*Alarm, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("alarm: timerfd: %w", err)
	}
	return &Alarm{f: os.NewFile(uintptr(fd), "alarm"), fd: fd}, nil
}

// Set makes the alarm fire d from now (at once when d ≤ 0), replacing
// any earlier setting.
func (a *Alarm) Set(d time.Duration) {
	// A zero it_value disarms a timerfd: at once is 1 ns.
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(int64(d), 1))}
	a.mu.Lock()
	if !a.closed {
		_ = unix.TimerfdSettime(a.fd, 0, &spec, nil) // EINVAL/EBADF cannot happen on our own open fd
	}
	a.mu.Unlock()
}

// Wait blocks until the alarm fires, and returns ErrClosed once it is
// closed (also when Close comes during the wait).
func (a *Alarm) Wait() error {
	for {
		_, err := a.f.Read(a.buf[:])
		switch {
		case err == nil:
			return nil
		case errors.Is(err, os.ErrClosed):
			return ErrClosed
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			continue
		default:
			return fmt.Errorf("alarm: %w", err)
		}
	}
}

// Close releases the alarm; a blocked Wait returns ErrClosed, later Sets
// do nothing.
func (a *Alarm) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	return a.f.Close()
}
