package bench

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHistogramUniform(t *testing.T) {
	h := NewHistogram()
	for us := 1; us <= 10000; us++ {
		h.Record(time.Duration(us) * time.Microsecond)
	}
	require.EqualValues(t, 10000, h.Count())
	// HDR with 3 significant digits: every value within 0.1 %.
	for _, c := range []struct{ q, want float64 }{{50, 5000}, {90, 9000}, {99, 9900}, {99.9, 9990}, {100, 10000}} {
		assert.InEpsilon(t, c.want, h.QuantileUs(c.q), 0.002, "p%v", c.q)
	}
	assert.InEpsilon(t, 10000, h.MaxUs(), 0.002)
	assert.InEpsilon(t, 1, h.MinUs(), 0.002)
	assert.InEpsilon(t, 5000.5, h.MeanUs(), 0.002)
	s := h.Summary()
	assert.True(t, s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max)
}

func TestHistogramShuffledAndMerged(t *testing.T) {
	vals := make([]int, 0, 20000)
	for i := 1; i <= 20000; i++ {
		vals = append(vals, i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	a, b := NewHistogram(), NewHistogram()
	for i, v := range vals {
		if i%2 == 0 {
			a.RecordUs(float64(v))
		} else {
			b.RecordUs(float64(v))
		}
	}
	a.Merge(b)
	require.EqualValues(t, 20000, a.Count())
	assert.InEpsilon(t, 10000, a.QuantileUs(50), 0.002)
	assert.InEpsilon(t, 19800, a.QuantileUs(99), 0.002)
	assert.Zero(t, a.Rejected())
}

func TestHistogramSubMicrosecondAndClamp(t *testing.T) {
	h := NewHistogram()
	h.Record(500 * time.Nanosecond)
	h.Record(-time.Second)   // clamped to 1 ns, not lost
	h.Record(time.Hour * 24) // clamped to the top of the range
	require.EqualValues(t, 3, h.Count())
	assert.InDelta(t, 0.001, h.MinUs(), 0.0001)
	assert.InEpsilon(t, float64(10*time.Minute/time.Microsecond), h.MaxUs(), 0.002)
	assert.Zero(t, h.Rejected())
}

func TestHistogramEmpty(t *testing.T) {
	h := NewHistogram()
	assert.Zero(t, h.QuantileUs(50))
	assert.Zero(t, h.MaxUs())
	assert.Nil(t, h.CDF())
}

func TestCDF(t *testing.T) {
	h := NewHistogram()
	for us := 1; us <= 1000; us++ {
		h.RecordUs(float64(us))
	}
	pts := h.CDF()
	require.NotEmpty(t, pts)
	for i := 1; i < len(pts); i++ {
		require.Greater(t, pts[i].ValueUs, pts[i-1].ValueUs)
		require.Greater(t, pts[i].Fraction, pts[i-1].Fraction)
	}
	assert.InDelta(t, 1.0, pts[len(pts)-1].Fraction, 1e-12)
	th := thin(pts, 50)
	require.Len(t, th, 50)
	assert.Equal(t, pts[len(pts)-1], th[len(th)-1])
	assert.Equal(t, pts[0], th[0])
}
