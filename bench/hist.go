package bench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision: samples are kept in nanoseconds from
// 1 ns to 10 minutes with 3 significant digits (every value is exact to
// within 0.1 %), and reported in microseconds.
const (
	histMinNs   = 1
	histMaxNs   = int64(10 * time.Minute)
	histSigFigs = 3
)

// Histogram records latencies in microseconds with HDR precision.
// It is not safe for concurrent use; give each recording goroutine its
// own and Merge them afterwards.
type Histogram struct {
	h        *hdrhistogram.Histogram
	rejected int64
}

// NewHistogram returns an empty Histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(histMinNs, histMaxNs, histSigFigs)}
}

// RecordUs adds one latency given in microseconds.
func (h *Histogram) RecordUs(us float64) { h.Record(time.Duration(us * 1e3)) }

// Record adds one latency. Values below 1 ns count as 1 ns and values
// above the range are clamped to its top, so that no sample is lost.
func (h *Histogram) Record(d time.Duration) {
	ns := int64(d)
	if ns < histMinNs {
		ns = histMinNs
	}
	if ns > histMaxNs {
		ns = histMaxNs
	}
	if err := h.h.RecordValue(ns); err != nil {
		h.rejected++ // unreachable: the value was clamped into range
	}
}

// Rejected counts samples the histogram refused (always 0: values are
// clamped into range first; kept so that a refusal would show).
func (h *Histogram) Rejected() int64 { return h.rejected }

// Merge adds every sample of o into h.
func (h *Histogram) Merge(o *Histogram) {
	if o != nil {
		h.rejected += h.h.Merge(o.h) + o.rejected
	}
}

// Count is the number of samples.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// QuantileUs returns the value at quantile q (0..100), in microseconds.
func (h *Histogram) QuantileUs(q float64) float64 {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return float64(h.h.ValueAtQuantile(q)) / 1e3
}

// MaxUs is the largest sample (within HDR precision).
func (h *Histogram) MaxUs() float64 {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return float64(h.h.Max()) / 1e3
}

// MinUs is the smallest sample.
func (h *Histogram) MinUs() float64 {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return float64(h.h.Min()) / 1e3
}

// MeanUs is the mean.
func (h *Histogram) MeanUs() float64 { return h.h.Mean() / 1e3 }

// CDFPoint is one point of a cumulative distribution: Fraction of the
// samples are at or below ValueUs.
type CDFPoint struct {
	ValueUs  float64 `json:"value_us"`
	Fraction float64 `json:"fraction"`
}

// CDF returns the distribution as points, one per recorded bucket, in
// increasing order. It is what the HTML report plots.
func (h *Histogram) CDF() []CDFPoint {
	total := h.h.TotalCount()
	if total == 0 {
		return nil
	}
	var pts []CDFPoint
	var cum int64
	for _, b := range h.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		cum += b.Count
		pts = append(pts, CDFPoint{ValueUs: float64(b.To) / 1e3, Fraction: float64(cum) / float64(total)})
	}
	return pts
}

// Summary computes the percentiles a report shows.
func (h *Histogram) Summary() Percentiles {
	return Percentiles{
		P50:  h.QuantileUs(50),
		P90:  h.QuantileUs(90),
		P99:  h.QuantileUs(99),
		P999: h.QuantileUs(99.9),
		Max:  h.MaxUs(),
		Mean: h.MeanUs(),
	}
}

// Percentiles are latency percentiles in microseconds.
type Percentiles struct {
	P50, P90, P99, P999, Max, Mean float64
}
