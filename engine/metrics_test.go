package engine

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The RTT gauges are the nearest-rank quantiles of the live connections'
// RTTs, "1" the largest, and none without a measured RTT.
func TestCollectRTTQuantiles(t *testing.T) {
	d := prometheus.NewDesc("x", "x", []string{"transport", "quantile"}, nil)
	rtts := make([]time.Duration, 0, 100)
	for i := 100; i >= 1; i-- { // unsorted on purpose
		rtts = append(rtts, time.Duration(i)*time.Millisecond)
	}
	ch := make(chan prometheus.Metric, 8)
	collectRTT(ch, d, "kcp", rtts)
	close(ch)
	got := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		require.NoError(t, m.Write(&pb))
		labels := map[string]string{}
		for _, l := range pb.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		assert.Equal(t, "kcp", labels["transport"])
		got[labels["quantile"]] = pb.GetGauge().GetValue()
	}
	assert.Equal(t, map[string]float64{"0.5": 0.050, "0.9": 0.090, "0.99": 0.099, "1": 0.100}, got)

	empty := make(chan prometheus.Metric, 8)
	collectRTT(empty, d, "tcp", nil)
	assert.Empty(t, empty)
}
