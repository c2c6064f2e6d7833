package impair

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lossRuns feeds n packets through a Link and returns the drop pattern
// and the lengths of its runs of consecutive drops.
func lossRuns(t *testing.T, d Direction, seed int64, n int) (lost int, runs []int) {
	t.Helper()
	l := NewLink(LinkConfig{Direction: d, Seed: seed, Stream: 1})
	run := 0
	for i := 0; i < n; i++ {
		v := l.Decide(t0.Add(time.Duration(i)*time.Millisecond), 100, 0)
		if v.N == 0 {
			require.Equal(t, DropLoss, v.Drop)
			lost++
			run++
			continue
		}
		if run > 0 {
			runs = append(runs, run)
			run = 0
		}
	}
	if run > 0 {
		runs = append(runs, run)
	}
	return lost, runs
}

func meanOf(xs []int) float64 {
	var s int
	for _, x := range xs {
		s += x
	}
	return float64(s) / float64(len(xs))
}

// share is the fraction of runs at least k long.
func share(runs []int, k int) float64 {
	var c int
	for _, r := range runs {
		if r >= k {
			c++
		}
	}
	return float64(c) / float64(len(runs))
}

// TestLinkBurstLoss: BurstLoss(5 %, 3) loses 5 % of packets in the long
// run, in runs of 3 on average with the geometric spread of the model,
// where Bernoulli loss of the same mean loses them one at a time.
func TestLinkBurstLoss(t *testing.T) {
	const n = 400_000
	g := BurstLoss(0.05, 3)
	assert.InDelta(t, 0.05, g.MeanLoss(), 1e-12)
	assert.InDelta(t, 3, g.MeanBadRun(), 1e-12)
	assert.Equal(t, "5% in bursts of 3", g.String())

	for _, seed := range []int64{1, 2, 3} {
		lost, runs := lossRuns(t, Direction{Burst: g}, seed, n)
		rate := float64(lost) / n
		// The bad state has ~6,700 visits here; the loss count's
		// standard deviation is ~0.07 percentage points.
		assert.InDelta(t, 0.05, rate, 0.004, "seed %d: long-run loss", seed)
		assert.InDelta(t, 3, meanOf(runs), 0.15, "seed %d: mean burst", seed)
		// Geometric with p = 1/3: a third of the bursts are single
		// losses, (2/3)^2 = 44 % are 3 or longer, (2/3)^5 = 13 % 6 or longer.
		assert.InDelta(t, 1.0/3, 1-share(runs, 2), 0.03, "seed %d: single losses", seed)
		assert.InDelta(t, 4.0/9, share(runs, 3), 0.03, "seed %d: runs >= 3", seed)
		assert.InDelta(t, math.Pow(2.0/3, 5), share(runs, 6), 0.02, "seed %d: runs >= 6", seed)

		// Bernoulli at the same mean: the same loss, hardly any runs.
		bl, bruns := lossRuns(t, Direction{Loss: 0.05}, seed, n)
		assert.InDelta(t, 0.05, float64(bl)/n, 0.002)
		assert.InDelta(t, 1/0.95, meanOf(bruns), 0.02, "seed %d: Bernoulli runs", seed)
		assert.Less(t, share(bruns, 3), 0.01, "seed %d: Bernoulli runs >= 3 are rare", seed)
		assert.Greater(t, share(runs, 3), 20*share(bruns, 3), "seed %d: bursts are consecutive losses", seed)
	}
}

// TestLinkBurstGeneral: a Gilbert–Elliott model with loss in both states
// matches its stationary loss rate, and a longer mean burst at the same
// mean loss gives longer runs.
func TestLinkBurstGeneral(t *testing.T) {
	g := GilbertElliott{GoodToBad: 0.02, BadToGood: 0.2, LossGood: 0.01, LossBad: 0.5}
	want := (10.0/11)*0.01 + (1.0/11)*0.5
	assert.InDelta(t, want, g.MeanLoss(), 1e-12)
	lost, _ := lossRuns(t, Direction{Burst: g}, 5, 400_000)
	assert.InDelta(t, want, float64(lost)/400_000, 0.004)
	assert.Contains(t, g.String(), "gilbert-elliott")

	_, short := lossRuns(t, Direction{Burst: BurstLoss(0.1, 2)}, 5, 200_000)
	_, long := lossRuns(t, Direction{Burst: BurstLoss(0.1, 8)}, 5, 200_000)
	assert.InDelta(t, 2, meanOf(short), 0.15)
	assert.InDelta(t, 8, meanOf(long), 0.6)
}

// TestLinkBurstDeterministic: the burst pattern depends only on the seed,
// and a Direction without Burst draws exactly as before the model was
// added (four values per packet), so old seeds keep their patterns.
func TestLinkBurstDeterministic(t *testing.T) {
	d := Direction{Burst: BurstLoss(0.05, 3), Delay: time.Millisecond, Jitter: time.Millisecond}
	a, b, c := NewLink(LinkConfig{Direction: d, Seed: 9, Stream: 1}), NewLink(LinkConfig{Direction: d, Seed: 9, Stream: 1}), NewLink(LinkConfig{Direction: d, Seed: 10, Stream: 1})
	var differ int
	for i := 0; i < 5000; i++ {
		va, vb, vc := a.Decide(t0, 100, 0), b.Decide(t0, 100, 0), c.Decide(t0, 100, 0)
		require.Equal(t, va, vb, "packet %d", i)
		if va.N != vc.N {
			differ++
		}
	}
	assert.Positive(t, differ, "another seed, another pattern")

	// Without Burst: 4 draws per packet, the first compared with Loss.
	plain := NewLink(LinkConfig{Direction: Direction{Loss: 0.3}, Seed: 9, Stream: 1})
	ref := NewLink(LinkConfig{Direction: Direction{}, Seed: 9, Stream: 1})
	for i := 0; i < 1000; i++ {
		rLoss := ref.rng.Float64()
		ref.rng.Float64()
		ref.rng.Float64()
		ref.rng.Float64()
		require.Equal(t, rLoss < 0.3, plain.Decide(t0, 1, 0).N == 0, "packet %d", i)
	}
}

func TestBurstConfig(t *testing.T) {
	for name, d := range map[string]Direction{
		"mean beyond the burst":   {Burst: BurstLoss(0.6, 1)}, // GoodToBad 1.5
		"burst below one":         {Burst: BurstLoss(0.05, 0.5)},
		"mean 1":                  {Burst: BurstLoss(1, 3)},
		"negative mean":           {Burst: BurstLoss(-0.1, 3)},
		"NaN":                     {Burst: BurstLoss(math.NaN(), 3)},
		"bad state never left":    {Burst: GilbertElliott{GoodToBad: 0.1, LossBad: 1}},
		"probability above one":   {Burst: GilbertElliott{GoodToBad: 0.1, BadToGood: 0.5, LossBad: 1.5}},
		"loss and burst together": {Loss: 0.05, Burst: BurstLoss(0.05, 3)},
	} {
		for _, c := range []Config{{Up: d}, {Down: d}} {
			require.ErrorIs(t, c.Validate(), ErrBadConfig, name)
		}
	}
	require.NoError(t, Config{Up: Direction{Burst: BurstLoss(0.05, 3)}, Down: Direction{Burst: BurstLoss(0.5, 1)}}.Validate())
	assert.True(t, BurstLoss(0, 3).IsZero(), "no loss is no model")
	// A model that never enters the bad state is valid and loses LossGood.
	require.NoError(t, Config{Up: Direction{Burst: GilbertElliott{LossGood: 0.1}}}.Validate())

	// TCP cannot drop: ForTCP strips burst loss too, and says so.
	stripped, removed := Config{Up: Direction{Burst: BurstLoss(0.05, 3), Delay: time.Millisecond}}.ForTCP()
	assert.Contains(t, removed, "up burst loss 5% in bursts of 3")
	assert.Equal(t, Direction{Delay: time.Millisecond}, stripped.Up)
	_, err := NewTCPProxy("127.0.0.1:0", "127.0.0.1:1", Config{Down: Direction{Burst: BurstLoss(0.05, 3)}})
	require.ErrorIs(t, err, ErrUnsupported)
}

// TestUDPBurstLossEachDirection: the UDP proxy drops in bursts in the
// configured direction only, and exactly the packets the sans-IO core
// drops for the seed.
func TestUDPBurstLossEachDirection(t *testing.T) {
	d := Direction{Burst: BurstLoss(0.1, 3)}
	for _, dir := range directions() {
		t.Run(dir.name, func(t *testing.T) {
			h := newUDPHarness(t, impairOne(dir.up, d))
			got := h.flow(t, dir.up, 2000, 100, 32)
			st := h.proxy.Stats()
			this, other := st.Up, st.Down
			stream := uint64(1)
			if !dir.up {
				this, other, stream = st.Down, st.Up, 2
			}
			lost := int(this.Dropped[DropLoss])
			assert.Len(t, got, 2000-lost)
			assert.Zero(t, other.TotalDropped(), "the other direction is not impaired")

			replay := NewLink(LinkConfig{Direction: d, Seed: 1, Stream: stream})
			arrived := map[uint32]bool{}
			for _, a := range got {
				arrived[a.seq] = true
			}
			var want int
			for i := 0; i < 2000; i++ {
				v := replay.Decide(time.Now(), 100, 0)
				require.Equal(t, v.N == 0, !arrived[uint32(i)], "packet %d", i)
				if v.N == 0 {
					want++
				}
			}
			assert.Equal(t, want, lost)
			assert.Greater(t, lost, 100, "about 200 of 2000 lost")
		})
	}
}
