package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/internal/promx"
	"github.com/tickwire/tickwire/netcode"
)

// rttBuckets are the upper bounds (seconds) of the RTT histogram: from
// 100 µs (loopback, a LAN) to 2.5 s (a link that is failing).
var rttBuckets = []float64{100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 20e-3, 35e-3, 50e-3, 75e-3, 100e-3, 150e-3, 200e-3, 300e-3, 500e-3, 1, 2.5}

// rttSampler feeds tickwire_transport_rtt_seconds: every
// Config.RTTSampleInterval it reads each live session's round-trip time
// from its transport (netcode.RTTOf) and observes it under the
// session's transport. It runs on its own goroutine (rttWG), never on a
// session's path; a session whose transport has no estimate yet (0) is
// not observed.
type rttSampler struct {
	hist *prometheus.HistogramVec

	// Owned by the sampling goroutine: reused between passes, so that a
	// pass allocates nothing once every transport has its child.
	byTransport map[string]prometheus.Observer
	conns       []netcode.Conn
}

func newRTTSampler() *rttSampler {
	return &rttSampler{
		hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: promx.Namespace, Name: "transport_rtt_seconds",
			Help:    "Round-trip time of live sessions, sampled every RTTSampleInterval from each session's transport (KCP: its smoothed estimate; TCP, WebSocket, long-poll: the kernel's TCP_INFO; WebRTC: SCTP's), by transport.",
			Buckets: rttBuckets,
		}, []string{"transport"}),
		byTransport: map[string]prometheus.Observer{},
	}
}

// observer is the histogram child of transport, made on its first use.
func (r *rttSampler) observer(transport string) prometheus.Observer {
	o, ok := r.byTransport[transport]
	if !ok {
		o = r.hist.WithLabelValues(transport)
		r.byTransport[transport] = o
	}
	return o
}

// sampleRTTs runs until Shutdown starts: one pass every
// Config.RTTSampleInterval.
func (e *Engine) sampleRTTs() {
	defer e.rttWG.Done()
	t := time.NewTicker(e.cfg.RTTSampleInterval)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
			e.sampleRTTOnce()
		}
	}
}

// sampleRTTOnce observes every live session's transport RTT once. The
// connections are listed under the engine's lock and read outside it
// (a transport's RTT may take its own lock or make a system call: this
// pass is the only periodic reader that pays for it; metrics scrapes
// read Stats, which leaves a stream transport's RTT unread).
func (e *Engine) sampleRTTOnce() {
	r := e.rtt
	e.mu.Lock()
	for _, s := range e.sessions {
		r.conns = append(r.conns, s.conn)
	}
	e.mu.Unlock()
	for i, c := range r.conns {
		if rtt := netcode.RTTOf(c); rtt > 0 {
			r.observer(c.Transport()).Observe(rtt.Seconds())
		}
		r.conns[i] = nil // keep no closed connection alive until the next pass
	}
	r.conns = r.conns[:0]
}
