package objstore

import "github.com/prometheus/client_golang/prometheus"

var objectsDesc = prometheus.NewDesc("ironfed_ceph_provider_objects",
	"Objects held by a Ceph provider runtime, by kind.", []string{"kind"}, nil)

// Counts is a collector of object counts read at scrape time: kind → Len.
type Counts map[string]func() int

var _ prometheus.Collector = Counts(nil)

func (c Counts) Describe(ch chan<- *prometheus.Desc) { ch <- objectsDesc }

func (c Counts) Collect(ch chan<- prometheus.Metric) {
	for kind, n := range c {
		ch <- prometheus.MustNewConstMetric(objectsDesc, prometheus.GaugeValue, float64(n()), kind)
	}
}
