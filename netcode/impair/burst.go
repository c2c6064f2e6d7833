package impair

import (
	"errors"
	"fmt"
)

// GilbertElliott is a two-state Markov loss model: the link is either
// good or bad, moves between the states once per packet, and drops a
// packet with the loss probability of the state it is in. Real networks
// lose packets in runs (a fading radio, a full queue, a route change);
// this is the classic model of that, and the one to test redundancy and
// FEC against, since back-to-back copies are lost together.
//
// Per packet, in this order: the state moves (good→bad with probability
// GoodToBad, bad→good with BadToGood), then the packet is dropped with
// probability LossGood or LossBad. A link starts in the good state. In
// the long run the link is bad a fraction GoodToBad/(GoodToBad+BadToGood)
// of the packets (MeanLoss), and a stay in the bad state lasts
// 1/BadToGood packets on average. The zero value drops nothing.
type GilbertElliott struct {
	GoodToBad, BadToGood float64 // transition probabilities per packet, 0..1
	LossGood, LossBad    float64 // loss probability in each state, 0..1
}

// BurstLoss returns the simple Gilbert model (nothing lost in the good
// state, everything in the bad one) whose long-run loss rate is mean
// (0 ≤ mean < 1) and whose runs of consecutive losses are meanBurst
// packets long on average (≥ 1): BadToGood = 1/meanBurst, GoodToBad =
// mean/((1-mean)·meanBurst). Bernoulli loss of the same mean has runs of
// 1/(1-mean) packets (1.05 at 5 %). Not every pair is reachable:
// meanBurst = 1 allows at most 50 % loss, and in general mean ≤
// meanBurst/(1+meanBurst); Direction's validation reports a pair beyond
// that (GoodToBad > 1), as it does a burst below 1 (BadToGood > 1), a
// mean outside 0..1 or NaN. BurstLoss(0, n) is the zero value.
func BurstLoss(mean, meanBurst float64) GilbertElliott {
	if mean == 0 {
		return GilbertElliott{}
	}
	return GilbertElliott{
		GoodToBad: mean / ((1 - mean) * meanBurst),
		BadToGood: 1 / meanBurst,
		LossBad:   1,
	}
}

// IsZero reports whether g drops nothing because it is unset.
func (g GilbertElliott) IsZero() bool { return g == GilbertElliott{} }

// MeanLoss is the long-run fraction of packets dropped.
func (g GilbertElliott) MeanLoss() float64 {
	if g.GoodToBad+g.BadToGood == 0 {
		return g.LossGood // never leaves the good state
	}
	bad := g.GoodToBad / (g.GoodToBad + g.BadToGood)
	return (1-bad)*g.LossGood + bad*g.LossBad
}

// MeanBadRun is the mean number of packets of one stay in the bad state
// (the mean burst length when LossBad is 1 and LossGood 0); +Inf when the
// bad state is never left.
func (g GilbertElliott) MeanBadRun() float64 { return 1 / g.BadToGood }

// String describes g for reports: "5% in bursts of 3" for a BurstLoss,
// the four probabilities otherwise.
func (g GilbertElliott) String() string {
	if g.LossGood == 0 && g.LossBad == 1 {
		return fmt.Sprintf("%.3g%% in bursts of %.3g", 100*g.MeanLoss(), g.MeanBadRun())
	}
	return fmt.Sprintf("gilbert-elliott good->bad %.3g bad->good %.3g loss %.3g/%.3g", g.GoodToBad, g.BadToGood, g.LossGood, g.LossBad)
}

var errBurst = errors.New("probabilities must be in 0..1, BadToGood > 0 when the bad state can be entered")

func (g GilbertElliott) validate() error {
	if g.IsZero() {
		return nil
	}
	for _, v := range []float64{g.GoodToBad, g.BadToGood, g.LossGood, g.LossBad} {
		if !(v >= 0 && v <= 1) { // also rejects NaN
			return fmt.Errorf("%v: %w", g, errBurst)
		}
	}
	if g.GoodToBad > 0 && g.BadToGood == 0 {
		return fmt.Errorf("%v: the bad state is never left: %w", g, errBurst)
	}
	return nil
}

// burstState is a Link's Gilbert–Elliott state.
type burstState struct {
	bad bool
}

// step moves the state with the uniform draw r and returns the loss
// probability of the packet.
func (s *burstState) step(g *GilbertElliott, r float64) float64 {
	if s.bad {
		if r < g.BadToGood {
			s.bad = false
		}
	} else if r < g.GoodToBad {
		s.bad = true
	}
	if s.bad {
		return g.LossBad
	}
	return g.LossGood
}
