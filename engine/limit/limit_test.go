package limit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

func TestKeyedBurstRefillAndKeys(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	k := NewKeyed[string](Per(3, time.Second), 3, 0)
	for i := range 3 {
		require.True(t, k.Allow("a", t0), "burst token %d", i)
	}
	assert.False(t, k.Allow("a", t0), "burst spent")
	assert.True(t, k.Allow("b", t0), "another key has its own bucket")
	assert.InDelta(t, float64(time.Second/3), float64(k.Wait("a", t0)), float64(time.Millisecond))
	assert.Zero(t, k.Wait("b", t0))
	assert.True(t, k.Allow("a", t0.Add(time.Second/3+time.Millisecond)), "refilled at the rate")
	assert.Equal(t, Stats{Keys: 2, Allowed: 5, Refused: 1}, k.Stats())
}

func TestKeyedEvictsLeastRecentlyUsed(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	k := NewKeyed[int](Per(1, time.Hour), 1, 2)
	require.True(t, k.Allow(1, t0))
	require.True(t, k.Allow(2, t0))
	require.False(t, k.Allow(1, t0)) // 1 is now the most recent
	require.True(t, k.Allow(3, t0))  // evicts 2
	assert.Equal(t, uint64(1), k.Stats().Evicted)
	assert.Equal(t, 2, k.Stats().Keys, "the key count never exceeds its bound")
	assert.False(t, k.Allow(1, t0), "1 was kept")
	assert.True(t, k.Allow(2, t0), "2 was forgotten and starts full")
}

func TestKeyedInfAndZero(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	inf := NewKeyed[string](rate.Inf, 0, 1)
	for range 100 {
		require.True(t, inf.Allow("x", t0))
	}
	zero := NewKeyed[string](0, 0, 1)
	assert.False(t, zero.Allow("x", t0))
	assert.Positive(t, zero.Wait("x", t0))
}
