package accounts

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestKeyLimiterRetryAfter(t *testing.T) {
	l := newKeyLimiter(3, time.Minute, 10) // one token per 20s
	t0 := time.Unix(1_800_000_000, 0)
	for range 3 {
		assert.Zero(t, l.allow("a", t0), "a new key starts full")
	}
	assert.InDelta(t, 20*time.Second, l.allow("a", t0), float64(time.Millisecond), "empty: next token in 20s")
	assert.InDelta(t, 10*time.Second, l.allow("a", t0.Add(10*time.Second)), float64(time.Millisecond), "a refusal takes nothing")
	assert.Zero(t, l.allow("a", t0.Add(20*time.Second)))
	assert.Zero(t, l.allow("b", t0), "other keys are independent")
	st := l.Stats()
	assert.Equal(t, uint64(5), st.Allowed)
	assert.Equal(t, uint64(2), st.Refused)
}

func TestKeyLimiterBoundsKeys(t *testing.T) {
	l := newKeyLimiter(1, time.Minute, 100)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 1000 {
		l.allow(strconv.Itoa(i), t0)
		assert.LessOrEqual(t, l.Stats().Keys, 100)
	}
	assert.Equal(t, uint64(900), l.Stats().Evicted)
	assert.Positive(t, l.allow("999", t0), "recent keys kept")
	assert.Zero(t, l.allow("0", t0), "old keys forgotten")
}
