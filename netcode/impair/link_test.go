package impair

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestLinkSameSeedSameDecisions(t *testing.T) {
	d := Direction{Loss: 0.1, Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Reorder: 0.05, Duplicate: 0.05, BandwidthBps: 1 << 20}
	run := func(seed int64) []Verdict {
		l := NewLink(LinkConfig{Direction: d, Seed: seed, Stream: 1})
		out := make([]Verdict, 1000)
		for i := range out {
			out[i] = l.Decide(t0.Add(time.Duration(i)*time.Millisecond), 200, 0)
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	require.Equal(t, a, b, "same seed must give the same decisions")
	drops := func(vs []Verdict) (p []bool) {
		for _, v := range vs {
			p = append(p, v.N == 0)
		}
		return p
	}
	assert.Equal(t, drops(a), drops(b))
	assert.NotEqual(t, drops(a), drops(c), "another seed gives another drop pattern")

	// Up and Down built from one seed use separate streams.
	up, down := NewLink(LinkConfig{Direction: d, Seed: 42, Stream: 1}), NewLink(LinkConfig{Direction: d, Seed: 42, Stream: 2})
	var same int
	for i := 0; i < 1000; i++ {
		if up.Decide(t0, 1, 0) == down.Decide(t0, 1, 0) {
			same++
		}
	}
	assert.Less(t, same, 950)
}

func TestLinkLossRate(t *testing.T) {
	l := NewLink(LinkConfig{Direction: Direction{Loss: 0.1}, Seed: 7, Stream: 1})
	var lost int
	for i := 0; i < 10000; i++ {
		v := l.Decide(t0, 100, 0)
		if v.N == 0 {
			require.Equal(t, DropLoss, v.Drop)
			lost++
		}
	}
	assert.InDelta(t, 1000, lost, 120)
}

func TestLinkDelayAndJitterBounds(t *testing.T) {
	d := Direction{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}
	l := NewLink(LinkConfig{Direction: d, Seed: 1, Stream: 1})
	var sum time.Duration
	var lo, hi int
	const n = 5000
	for i := 0; i < n; i++ {
		v := l.Decide(t0, 100, 0)
		require.Equal(t, 1, v.N)
		got := v.At[0].Sub(t0)
		require.GreaterOrEqual(t, got, 40*time.Millisecond)
		require.LessOrEqual(t, got, 60*time.Millisecond)
		if got < 45*time.Millisecond {
			lo++
		}
		if got > 55*time.Millisecond {
			hi++
		}
		sum += got
	}
	assert.InDelta(t, float64(50*time.Millisecond), float64(sum/n), float64(time.Millisecond))
	assert.Greater(t, lo, n/5, "jitter spreads below the delay")
	assert.Greater(t, hi, n/5, "and above it")

	// Jitter larger than the delay never yields a negative delay.
	l = NewLink(LinkConfig{Direction: Direction{Delay: time.Millisecond, Jitter: 10 * time.Millisecond}, Seed: 1, Stream: 1})
	for i := 0; i < 1000; i++ {
		require.False(t, l.Decide(t0, 1, 0).At[0].Before(t0))
	}
}

func TestLinkReorderAndDuplicate(t *testing.T) {
	d := Direction{Delay: 5 * time.Millisecond, Reorder: 0.2, Duplicate: 0.1}
	l := NewLink(LinkConfig{Direction: d, Seed: 3, Stream: 1})
	var reordered, dup int
	for i := 0; i < 5000; i++ {
		v := l.Decide(t0, 100, 0)
		if v.Reordered {
			reordered++
			assert.Equal(t, t0.Add(5*time.Millisecond+DefaultReorderDelay), v.At[0])
		} else {
			assert.Equal(t, t0.Add(5*time.Millisecond), v.At[0])
		}
		if v.Duplicated {
			dup++
			require.Equal(t, 2, v.N)
			assert.Equal(t, v.At[0], v.At[1])
		} else {
			require.Equal(t, 1, v.N)
		}
	}
	assert.InDelta(t, 1000, reordered, 130)
	assert.InDelta(t, 500, dup, 90)

	// ReorderDelay overrides the default.
	l = NewLink(LinkConfig{Direction: Direction{Reorder: 1, ReorderDelay: time.Second}, Seed: 3, Stream: 1})
	assert.Equal(t, t0.Add(time.Second), l.Decide(t0, 1, 0).At[0])
}

func TestLinkBandwidthSerialises(t *testing.T) {
	l := NewLink(LinkConfig{Direction: Direction{BandwidthBps: 1000, Delay: time.Millisecond}, Seed: 1, Stream: 1})
	// A burst of 100-byte packets leaves 100 ms apart.
	for i := 1; i <= 5; i++ {
		v := l.Decide(t0, 100, 0)
		assert.Equal(t, t0.Add(time.Duration(i)*100*time.Millisecond+time.Millisecond), v.At[0], "packet %d", i)
	}
	// After the link drained, a packet only pays its own time.
	later := t0.Add(10 * time.Second)
	assert.Equal(t, later.Add(50*time.Millisecond+time.Millisecond), l.Decide(later, 50, 0).At[0])
}

func TestLinkQueueBound(t *testing.T) {
	l := NewLink(LinkConfig{Direction: Direction{BandwidthBps: 1000, Duplicate: 1}, Seed: 1, Stream: 1, MaxQueue: 4})
	v := l.Decide(t0, 100, 4)
	assert.Equal(t, 0, v.N)
	assert.Equal(t, DropQueueFull, v.Drop)
	// A refused packet does not occupy the bottleneck.
	v = l.Decide(t0, 100, 0)
	assert.Equal(t, t0.Add(100*time.Millisecond), v.At[0])
	assert.Equal(t, 2, v.N)
	// No room for the copy: the original still goes.
	v = l.Decide(t0, 100, 3)
	assert.Equal(t, 1, v.N)
	assert.False(t, v.Duplicated)
}

func TestLinkInOrder(t *testing.T) {
	l := NewLink(LinkConfig{Direction: Direction{Delay: 10 * time.Millisecond, Jitter: 10 * time.Millisecond}, Seed: 9, Stream: 1, InOrder: true})
	var last time.Time
	for i := 0; i < 2000; i++ {
		v := l.Decide(t0.Add(time.Duration(i)*100*time.Microsecond), 10, 0)
		require.False(t, v.At[0].Before(last), "in-order link delivered early")
		last = v.At[0]
	}
}

func TestLinkZeroPassesThrough(t *testing.T) {
	l := NewLink(LinkConfig{Direction: Direction{}, Stream: 1})
	for i := 0; i < 100; i++ {
		v := l.Decide(t0, 1500, 0)
		require.Equal(t, Verdict{N: 1, At: [2]time.Time{t0}}, v)
	}
}

func TestConfig(t *testing.T) {
	bad := []Config{
		{Up: Direction{Loss: -0.1}},
		{Down: Direction{Loss: 1.5}},
		{Up: Direction{Reorder: 2}},
		{Down: Direction{Duplicate: -1}},
		{Up: Direction{Delay: -1}},
		{Up: Direction{Jitter: -1}},
		{Down: Direction{BandwidthBps: -1}},
		{MaxQueue: -1},
		{ClientIdle: -1},
	}
	for i, c := range bad {
		require.ErrorIs(t, c.Validate(), ErrBadConfig, "case %d", i)
		_, err := NewUDPProxy("127.0.0.1:0", "127.0.0.1:1", c)
		require.ErrorIs(t, err, ErrBadConfig, "case %d", i)
		_, err = NewTCPProxy("127.0.0.1:0", "127.0.0.1:1", c)
		require.ErrorIs(t, err, ErrBadConfig, "case %d", i)
	}
	require.NoError(t, Config{}.Validate())
	p, err := Config{}.populate()
	require.NoError(t, err)
	assert.Equal(t, DefaultMaxQueue, p.MaxQueue)
	assert.Equal(t, DefaultReorderDelay, p.Up.ReorderDelay)
}

func TestForTCP(t *testing.T) {
	c := Config{Up: Direction{Loss: 0.05, Delay: time.Millisecond}, Down: Direction{Duplicate: 0.1, Reorder: 0.2, BandwidthBps: 10}}
	stripped, removed := c.ForTCP()
	assert.Contains(t, removed, "up loss 0.05")
	assert.Contains(t, removed, "down duplicate 0.1")
	assert.Contains(t, removed, "down reorder 0.2")
	assert.Equal(t, Direction{Delay: time.Millisecond}, stripped.Up)
	assert.Equal(t, Direction{BandwidthBps: 10}, stripped.Down)
	_, removed = stripped.ForTCP()
	assert.Empty(t, removed)
}

func BenchmarkLinkDecide(b *testing.B) {
	l := NewLink(LinkConfig{Direction: Direction{Loss: 0.01, Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Reorder: 0.01, Duplicate: 0.01, BandwidthBps: 1 << 30}, Seed: 1, Stream: 1})
	now := t0
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		_ = l.Decide(now, 200, 0)
	}
}
