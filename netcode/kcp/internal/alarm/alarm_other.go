//go:build !linux

package alarm

import (
	"sync"
	"time"
)

// Alarm fires once per Set, at the time it was last set to. One
// goroutine calls Wait; any goroutine may call Set and Close. Outside
// Linux it is a time.Timer, with the Go runtime's precision.
type Alarm struct {
	t         *time.Timer
	done      chan struct{}
	closeOnce sync.Once
}

// New returns an unset Alarm.
func New() (*Alarm, error) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &Alarm{t: t, done: make(chan struct{})}, nil
}

// Set makes the alarm fire d from now (at once when d ≤ 0), replacing
// any earlier setting.
func (a *Alarm) Set(d time.Duration) { a.t.Reset(max(d, 0)) }

// Wait blocks until the alarm fires, and returns ErrClosed once it is
// closed (also when Close comes during the wait).
func (a *Alarm) Wait() error {
	select {
	case <-a.done:
		return ErrClosed
	default:
	}
	select {
	case <-a.t.C:
		return nil
	case <-a.done:
		return ErrClosed
	}
}

// Close releases the alarm; a blocked Wait returns ErrClosed.
func (a *Alarm) Close() error {
	a.closeOnce.Do(func() { a.t.Stop(); close(a.done) })
	return nil
}
