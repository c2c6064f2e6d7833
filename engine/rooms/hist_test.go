package rooms

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	assert.Zero(t, h.summary().Count)
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	h.record(-time.Second) // clamped to 0
	s := h.summary()
	assert.Equal(t, uint64(1001), s.Count)
	within := func(want, got time.Duration) {
		t.Helper()
		assert.InEpsilon(t, float64(want), float64(got), 0.07, "want ~%v, got %v", want, got)
	}
	within(500*time.Microsecond, s.P50)
	within(990*time.Microsecond, s.P99)
	within(time.Millisecond, s.Max)
	h.reset()
	assert.Zero(t, h.summary().Count)

	for _, v := range []uint64{0, 1, 31, 32, 33, 1000, 1 << 40, 1<<63 - 1} {
		i := histIndex(v)
		assert.Less(t, i, histBuckets)
		if v >= histExact {
			assert.InEpsilon(t, float64(v), float64(histValue(i)), 0.07, "value %d", v)
		} else {
			assert.Equal(t, v, histValue(i))
		}
	}
}
