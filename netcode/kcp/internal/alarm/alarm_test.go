package alarm

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitFor runs a.Wait in a goroutine and returns its result, failing the
// test if Wait has not returned within limit (a hang guard, not a timing
// assertion: the alarms below are due long before it).
func waitFor(t *testing.T, a *Alarm, limit time.Duration) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- a.Wait() }()
	select {
	case err := <-res:
		return err
	case <-time.After(limit):
		t.Fatalf("Wait did not return within %v", limit)
		return nil
	}
}

func newAlarm(t *testing.T) *Alarm {
	t.Helper()
	a, err := New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func TestSetZeroFiresAtOnce(t *testing.T) {
	a := newAlarm(t)
	a.Set(0)
	require.NoError(t, waitFor(t, a, 10*time.Second))
	a.Set(-time.Second) // in the past: at once too
	require.NoError(t, waitFor(t, a, 10*time.Second))
}

func TestFiresNoEarlierThanSet(t *testing.T) {
	a := newAlarm(t)
	const d = 3 * time.Millisecond
	start := time.Now()
	a.Set(d)
	require.NoError(t, waitFor(t, a, 10*time.Second))
	require.GreaterOrEqual(t, time.Since(start), d)
}

// A Set from another goroutine moves a waiting alarm earlier: the
// endpoint's read loop does this when a copy or an ACK falls due before
// the timer loop planned to wake.
func TestEarlierSetWakesTheWaiter(t *testing.T) {
	a := newAlarm(t)
	a.Set(time.Hour)
	res := make(chan error, 1)
	go func() { res <- a.Wait() }()
	a.Set(time.Millisecond)
	select {
	case err := <-res:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the earlier Set did not wake the waiter")
	}
}

func TestCloseEndsWait(t *testing.T) {
	a := newAlarm(t)
	a.Set(time.Hour)
	res := make(chan error, 1)
	go func() { res <- a.Wait() }()
	require.NoError(t, a.Close())
	select {
	case err := <-res:
		require.ErrorIs(t, err, ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end Wait")
	}
	a.Set(0) // after Close: nothing, no panic
	require.ErrorIs(t, a.Wait(), ErrClosed)
	require.NoError(t, a.Close())
}

// BenchmarkLateness measures how late an alarm set d ahead wakes its
// waiter on an otherwise idle process, beside a time.Timer: the runtime
// sleeps in epoll_wait with a millisecond timeout, so the timer is up to
// a millisecond late for sub-millisecond deadlines.
//
//	go test -run '^$' -bench Lateness -benchtime 300x ./netcode/kcp/internal/alarm/
func BenchmarkLateness(b *testing.B) {
	for _, d := range []time.Duration{300 * time.Microsecond, time.Millisecond} {
		b.Run("alarm/"+d.String(), func(b *testing.B) {
			a, err := New()
			require.NoError(b, err)
			defer func() { _ = a.Close() }()
			late := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				a.Set(d)
				require.NoError(b, a.Wait())
				late = append(late, time.Since(start)-d)
			}
			reportLateness(b, late)
		})
		b.Run("time.Timer/"+d.String(), func(b *testing.B) {
			t := time.NewTimer(time.Hour)
			defer t.Stop()
			late := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				t.Reset(d)
				<-t.C
				late = append(late, time.Since(start)-d)
			}
			reportLateness(b, late)
		})
	}
}

func reportLateness(b *testing.B, late []time.Duration) {
	if len(late) == 0 {
		return
	}
	slices.Sort(late)
	q := func(p float64) float64 { return float64(late[int(p*float64(len(late)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "late-p50-µs")
	b.ReportMetric(q(0.99), "late-p99-µs")
	b.ReportMetric(0, "ns/op")
}
