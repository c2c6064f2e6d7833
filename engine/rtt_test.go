package engine

import (
	"sync/atomic"
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

// streamConn is a stream transport's Conn (TCP, WebSocket, long-poll) as
// the engine holds it: Stats carries no RTT; RTT reads it, and counts the
// reads (each a getsockopt on a real socket).
type streamConn struct {
	sinkConn
	rtt   time.Duration
	reads atomic.Int64
}

func (c *streamConn) Stats() netcode.Stats { return netcode.Stats{Transport: "tcp", MessagesRecv: 1} }
func (c *streamConn) Transport() string    { return "tcp" }
func (c *streamConn) RTT() time.Duration {
	c.reads.Add(1)
	return c.rtt
}

// The RTT sampler and the admin session list read a stream transport's
// RTT through netcode.RTTOf (its RTT method, Stats has none); a metrics
// scrape, which reads every live session's Stats, never reads it: it
// makes no system call per session.
func TestRTTReadThroughRTTer(t *testing.T) {
	e, err := New(Config{})
	require.NoError(t, err)
	c := &streamConn{rtt: 2 * time.Millisecond}
	s := newSession(e, c, 1)
	e.sessions[1] = s
	p := &peer{e: e, id: 1, userID: "u1", name: "one"}
	p.conn.Store(s)
	e.peers[1] = p

	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(e.Collector()))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var conns float64
	for _, mf := range mfs {
		if mf.GetName() == "tickwire_transport_connections" {
			for _, m := range mf.GetMetric() {
				conns += m.GetGauge().GetValue()
			}
		}
	}
	assert.Equal(t, 1.0, conns, "the scrape read the session's Stats")
	assert.Zero(t, c.reads.Load(), "a scrape reads no RTT")

	e.sampleRTTOnce()
	assert.Equal(t, uint64(1), sampleCount(t, e.rtt.hist, "tcp"))
	assert.InDelta(t, 0.002, sampleSum(t, e.rtt.hist, "tcp"), 1e-12)
	list := e.Sessions()
	require.Len(t, list, 1)
	assert.InDelta(t, 2.0, list[0].RTTMillis, 1e-9)
	assert.Equal(t, int64(2), c.reads.Load(), "one read by the sampler, one by the session list")
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

// lossyConn is a KCP-like conn whose Stats report retransmissions, loss
// and redundancy.
type lossyConn struct{ sinkConn }

func (c *lossyConn) Stats() netcode.Stats {
	return netcode.Stats{Transport: "kcp", RTT: 3 * time.Millisecond, Retransmits: 17, LossRate: 0.05, Redundancy: 2}
}
func (c *lossyConn) Transport() string { return "kcp" }

// The admin session list shows what the transport knows of the path:
// retransmissions, measured loss and the redundancy level.
func TestSessionListShowsPathStats(t *testing.T) {
	e, err := New(Config{})
	require.NoError(t, err)
	s := newSession(e, &lossyConn{}, 1)
	e.sessions[1] = s
	p := &peer{e: e, id: 1, userID: "u1", name: "one"}
	p.conn.Store(s)
	e.peers[1] = p
	list := e.Sessions()
	require.Len(t, list, 1)
	assert.Equal(t, uint64(17), list[0].Retransmits)
	assert.InDelta(t, 0.05, list[0].LossRate, 1e-12)
	assert.Equal(t, 2, list[0].Redundancy)
	assert.InDelta(t, 3.0, list[0].RTTMillis, 1e-9)
}
