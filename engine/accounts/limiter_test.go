package accounts

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLimiterBucket(t *testing.T) {
	l := newLimiter(3, time.Minute, 10) // one token per 20s
	t0 := time.Unix(1_800_000_000, 0)
	assert.Zero(t, l.wait("a", t0), "unknown key starts full")
	assert.Zero(t, l.take("a", t0))
	assert.Zero(t, l.take("a", t0))
	assert.Equal(t, 20*time.Second, l.take("a", t0), "empty: next token in 20s")
	assert.Equal(t, 20*time.Second, l.take("a", t0), "never below zero")
	assert.Equal(t, 10*time.Second, l.wait("a", t0.Add(10*time.Second)))
	assert.Zero(t, l.wait("a", t0.Add(20*time.Second)))
	assert.Zero(t, l.allow("a", t0.Add(20*time.Second)))
	assert.Equal(t, 20*time.Second, l.allow("a", t0.Add(20*time.Second)), "allow takes nothing when empty")
	assert.Zero(t, l.wait("a", t0.Add(40*time.Second)))
	// refills to burst, not beyond
	for range 3 {
		assert.Zero(t, l.allow("a", t0.Add(time.Hour)))
	}
	assert.Positive(t, l.allow("a", t0.Add(time.Hour)))
	assert.Zero(t, l.wait("b", t0), "other keys are independent")
}

func TestLimiterEvictsLeastRecentlyUsed(t *testing.T) {
	l := newLimiter(1, time.Minute, 100)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 1000 {
		l.take(strconv.Itoa(i), t0)
		keys, _ := l.stats()
		assert.LessOrEqual(t, keys, 100)
	}
	keys, evicted := l.stats()
	assert.Equal(t, 100, keys)
	assert.Equal(t, uint64(900), evicted)
	assert.Positive(t, l.wait("999", t0), "recent keys kept")
	assert.Zero(t, l.wait("0", t0), "old keys forgotten")
}
