package engine

import (
	"sync/atomic"

	"github.com/tickwire/tickwire/netcode"
)

// chanCounters count one session's frames and frame bytes by the channel
// they travelled on (netcode.Reliable, netcode.Unreliable): the reader
// counts what it reads, the writer (or the sender, in direct mode) what
// the transport took; an unreliable frame promoted to the reliable
// channel counts as reliable. They are the only frame counters: the
// engine's totals (Stats.FramesIn...) and the per-transport ones are
// their sums over the live sessions and the ended ones, which a session
// joins when it is removed (Engine.frameTotals, Engine.transportTotals).
// Each is an uncontended atomic on the session's own memory: no cache
// line shared between sessions on the frame path.
type chanCounters [2]struct {
	framesIn, framesOut atomic.Uint64
	bytesIn, bytesOut   atomic.Uint64
}

func (c *chanCounters) in(ch netcode.Channel, n int) {
	k := &c[ch&1]
	k.framesIn.Add(1)
	k.bytesIn.Add(uint64(n))
}

func (c *chanCounters) out(ch netcode.Channel, n int) {
	k := &c[ch&1]
	k.framesOut.Add(1)
	k.bytesOut.Add(uint64(n))
}

// chanTotals is a snapshot of chanCounters, or their sum over sessions.
type chanTotals [2]struct {
	FramesIn, FramesOut uint64
	BytesIn, BytesOut   uint64
}

func (c *chanCounters) snapshot() chanTotals {
	var t chanTotals
	for i := range c {
		t[i].FramesIn = c[i].framesIn.Load()
		t[i].FramesOut = c[i].framesOut.Load()
		t[i].BytesIn = c[i].bytesIn.Load()
		t[i].BytesOut = c[i].bytesOut.Load()
	}
	return t
}

func (t *chanTotals) add(o chanTotals) {
	for i := range t {
		t[i].FramesIn += o[i].FramesIn
		t[i].FramesOut += o[i].FramesOut
		t[i].BytesIn += o[i].BytesIn
		t[i].BytesOut += o[i].BytesOut
	}
}

// frameTotals sums the frame counters of every session the engine has
// served, ended and live, by channel. The live sessions' atomics are
// read under e.mu, as removeSession moves a session's into e.ended under
// it: each frame is counted once.
func (e *Engine) frameTotals() chanTotals {
	var t chanTotals
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.ended {
		t.add(c.frames)
	}
	for _, s := range e.sessions {
		t.add(s.chc.snapshot())
	}
	return t
}
