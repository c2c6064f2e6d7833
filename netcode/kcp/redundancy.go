package kcp

import (
	"time"

	"golang.org/x/time/rate"
)

// rxCounter is the receiving half of loss measurement: it counts the
// datagrams heard from the peer and remembers the newest packet number.
// The peer turns two successive reports into a loss sample. Owned by the
// endpoint's read loop; reports are read under the session lock.
type rxCounter struct {
	max     uint32
	count   uint32
	started bool
}

func (r *rxCounter) observe(pn uint32) {
	r.count++
	if !r.started || seqNewer(pn, r.max) {
		r.max, r.started = pn, true
	}
}

// redundancy is the sending half, a sans-IO controller: it turns the
// peer's cumulative receive reports into a smoothed loss rate, picks a
// redundancy level with hysteresis, keeps a floor of one copy while the
// session is sparse, and meters redundant bytes against a token bucket
// (x/time/rate). Time is always passed in. Not safe for concurrent use;
// the session guards it with a mutex.
type redundancy struct {
	cfg RedundancyConfig

	// The sparse floor's rate meter: KCP datagrams sent in the window
	// starting at winStart and in the window before it.
	winStart        time.Time
	winCur, winPrev int

	level     int
	loss      float64
	haveLoss  bool
	changedAt time.Time
	congested bool // queueing delay seen: loss is congestion, copies would add to it

	lastMax, lastCount uint32
	accExp, accRecv    uint64

	budget *rate.Limiter // redundant bytes: BudgetBytesPerSec, burst a quarter of it
}

func newRedundancy(cfg RedundancyConfig) *redundancy {
	r := &redundancy{
		cfg:     cfg,
		lastMax: ^uint32(0), // packet numbers start at 0
		budget:  rate.NewLimiter(rate.Limit(cfg.BudgetBytesPerSec), cfg.BudgetBytesPerSec/4),
	}
	// The starting level is a guess, not a measurement: changedAt stays
	// zero so that the first sample may lower it without hold-down.
	if !cfg.Disabled && !cfg.StartAtZero && cfg.MaxLevel > 0 {
		r.level = 1
	}
	return r
}

// onReport folds a receive report (the peer's newest packet number from
// us and its running count of our datagrams) into the loss estimate.
func (r *redundancy) onReport(now time.Time, recvMax, recvCount uint32) {
	exp := int32(recvMax - r.lastMax)
	if exp <= 0 {
		return // nothing new, or a reordered older report
	}
	r.accExp += uint64(exp)
	r.accRecv += uint64(recvCount - r.lastCount)
	r.lastMax, r.lastCount = recvMax, recvCount
	if r.accExp < uint64(r.cfg.MinSamples) {
		// The starting level is only a guess: a quarter sample without a
		// single loss is enough to drop it, so a session on a clean link
		// stops sending copies after a few round trips instead of a full
		// sample (at 1,000 sessions on a 30 Hz stream, ~0.5 s of doubled
		// datagrams each). Raising still waits for a full sample.
		if !r.haveLoss && r.level > 0 && r.changedAt.IsZero() &&
			r.accExp >= uint64(max(r.cfg.MinSamples/4, 1)) && r.accRecv >= r.accExp {
			r.level = 0
		}
		return
	}
	sample := 1 - float64(r.accRecv)/float64(r.accExp)
	sample = min(max(sample, 0), 1)
	r.accExp, r.accRecv = 0, 0
	if r.haveLoss {
		r.loss = 0.7*r.loss + 0.3*sample
	} else {
		r.loss, r.haveLoss = sample, true
	}
	r.adjust(now)
}

// adjust moves the level: up at once when loss reaches a threshold, down
// one step when loss fell well below the current level's threshold and
// the level has held for HoldDown.
func (r *redundancy) adjust(now time.Time) {
	if r.cfg.Disabled {
		r.level = 0
		return
	}
	target := r.level
	for target < r.cfg.MaxLevel && r.loss >= r.cfg.Thresholds[target] {
		target++
	}
	if target > r.level {
		if r.congested {
			return // more copies would deepen the queue that drops them
		}
		r.level, r.changedAt = target, now
		return
	}
	if r.level > 0 && r.loss < r.cfg.Thresholds[r.level-1]*r.cfg.DownFactor && now.Sub(r.changedAt) >= r.cfg.HoldDown {
		r.level--
		r.changedAt = now
	}
}

// setCongested records whether the path is queueing (the session's
// smoothed RTT well above its minimum). Loss seen while queueing is
// congestion: an overloaded receiver or link dropping what it cannot
// take. Copies would only add load, so the level does not rise then (it
// may still fall); random link loss, which comes without queueing delay,
// raises it as before.
func (r *redundancy) setCongested(srtt, minRTT time.Duration) {
	r.congested = srtt > 2*minRTT+congestionSlack
}

// congestionSlack is the queueing delay, above twice the minimum RTT,
// taken as congestion.
const congestionSlack = 30 * time.Millisecond

// tick lets the level step down while reports keep arriving with no new
// loss sample (as when traffic stopped).
func (r *redundancy) tick(now time.Time) {
	if r.haveLoss {
		r.adjust(now)
	}
}

// sparseWindow is the sparse floor's rate window: SparseRate counts KCP
// datagrams per sparseWindow.
const sparseWindow = time.Second

// onSend records a KCP datagram (an original, not a copy) sent at now and
// returns how many extra copies it should get: the level, raised to 1
// while the session is sparse (see RedundancyConfig.SparseRate). The
// budget still meters each copy (allow).
func (r *redundancy) onSend(now time.Time) int {
	n := r.copies(now)
	r.winCur++
	return n
}

// copies is the number of extra copies a KCP datagram sent at now gets.
func (r *redundancy) copies(now time.Time) int {
	if r.level == 0 && r.sparse(now) {
		return 1
	}
	return r.level
}

// sparse reports whether the session sends too few KCP datagrams for the
// loss estimate to protect it: fewer than SparseRate in the last
// sparseWindow, counted as the current window plus the share of the
// previous one that the sliding window still covers.
func (r *redundancy) sparse(now time.Time) bool {
	if r.cfg.Disabled || r.cfg.MaxLevel < 1 || r.cfg.SparseRate <= 0 {
		return false
	}
	if r.winStart.IsZero() {
		r.winStart = now
	}
	if d := now.Sub(r.winStart); d >= sparseWindow {
		r.winPrev = r.winCur
		if d >= 2*sparseWindow {
			r.winPrev = 0 // a whole window passed with nothing sent
		}
		r.winCur = 0
		r.winStart = r.winStart.Add(d.Truncate(sparseWindow))
	}
	covered := 1 - float64(now.Sub(r.winStart))/float64(sparseWindow)
	covered = min(max(covered, 0), 1)
	return float64(r.winCur)+covered*float64(r.winPrev) < float64(r.cfg.SparseRate)
}

// allow spends n bytes of redundancy budget, reporting whether a copy of
// n bytes may be sent now.
func (r *redundancy) allow(now time.Time, n int) bool {
	return r.budget.AllowN(now, n)
}
