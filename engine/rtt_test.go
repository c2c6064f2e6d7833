package engine

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// rttConn is a sinkConn whose transport reports a fixed RTT.
type rttConn struct {
	sinkConn
	name string
	rtt  time.Duration
}

func (c *rttConn) Stats() netcode.Stats { return netcode.Stats{Transport: c.name, RTT: c.rtt} }
func (c *rttConn) Transport() string    { return c.name }

// One sampling pass observes every live session's transport RTT once,
// under its transport; a session without an estimate (0) is skipped; a
// pass allocates nothing once every transport has its histogram child.
func TestRTTSampling(t *testing.T) {
	e, err := New(Config{})
	require.NoError(t, err)
	conns := []*rttConn{
		{name: "kcp", rtt: 3 * time.Millisecond}, {name: "kcp", rtt: 40 * time.Millisecond},
		{name: "tcp", rtt: 250 * time.Microsecond}, {name: "tcp"}, // no estimate yet
	}
	for i, c := range conns {
		e.sessions[uint64(i+1)] = newSession(e, c, uint64(i+1))
	}
	e.sampleRTTOnce()
	h := e.rtt.hist
	assert.InDelta(t, 0.043, sampleSum(t, h, "kcp"), 1e-9, "kcp: 3 ms + 40 ms")
	assert.Equal(t, uint64(2), sampleCount(t, h, "kcp"))
	assert.Equal(t, uint64(1), sampleCount(t, h, "tcp"), "the session without an estimate is not observed")
	assert.Empty(t, e.rtt.conns, "the pass keeps no connection")

	allocs := testing.AllocsPerRun(100, e.sampleRTTOnce)
	assert.Zero(t, allocs, "a sampling pass allocates nothing in steady state")
	assert.Equal(t, uint64(2+2*101), sampleCount(t, h, "kcp"))
}

// histOf reads the histogram child of transport.
func histOf(t *testing.T, h *prometheus.HistogramVec, transport string) *dto.Histogram {
	t.Helper()
	var m dto.Metric
	require.NoError(t, h.WithLabelValues(transport).(prometheus.Metric).Write(&m))
	return m.GetHistogram()
}

func sampleCount(t *testing.T, h *prometheus.HistogramVec, transport string) uint64 {
	return histOf(t, h, transport).GetSampleCount()
}

func sampleSum(t *testing.T, h *prometheus.HistogramVec, transport string) float64 {
	return histOf(t, h, transport).GetSampleSum()
}
