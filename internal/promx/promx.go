// Package promx holds the small helpers every package's Prometheus
// collector shares: descriptors named under the "tickwire" namespace and
// constant metrics built from the counters a package already keeps.
//
// A package counts what it owns (atomics, read at scrape time) and
// exposes a prometheus.Collector; these helpers only turn a snapshot into
// metrics, so that a scrape costs nothing on the paths that count.
package promx

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every tickwire metric.
const Namespace = "tickwire"

// Desc is a descriptor for tickwire_<name> with the given variable labels.
func Desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
}

// Counter sends a counter with value v.
func Counter[T uint64 | int64 | int](ch chan<- prometheus.Metric, d *prometheus.Desc, v T, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

// Gauge sends a gauge with value v.
func Gauge[T uint64 | int64 | int](ch chan<- prometheus.Metric, d *prometheus.Desc, v T, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
}

// CounterMap sends one counter per key of m (in key order), the key as
// the last label value after labels.
func CounterMap(ch chan<- prometheus.Metric, d *prometheus.Desc, m map[string]uint64, labels ...string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		Counter(ch, d, m[k], append(slices.Clip(labels), k)...)
	}
}

// Collector is a prometheus.Collector made of a fixed list of descriptors
// and a function that reads the owner's counters at scrape time.
type Collector struct {
	Descs []*prometheus.Desc
	Read  func(ch chan<- prometheus.Metric)
	// Also are collectors the owner keeps itself (a histogram observed
	// per event), described and collected with the rest.
	Also []prometheus.Collector
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.Descs {
		ch <- d
	}
	for _, a := range c.Also {
		a.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.Read(ch)
	for _, a := range c.Also {
		a.Collect(ch)
	}
}
