package memory

import "github.com/prometheus/client_golang/prometheus"

var (
	objectsDesc = prometheus.NewDesc("ironfed_memory_provider_objects",
		"Objects held by the memory provider, by kind.", []string{"kind"}, nil)
	classUsedDesc = prometheus.NewDesc("ironfed_memory_provider_class_used",
		"Capacity in use per class (instances; bytes for volumes), including objects being deleted.", []string{"kind", "class"}, nil)
	classCapacityDesc = prometheus.NewDesc("ironfed_memory_provider_class_capacity",
		"Total capacity per class, as Status reports it.", []string{"kind", "class"}, nil)
)

// Collector exports object counts and class usage, read at scrape time.
func (p *Provider) Collector() prometheus.Collector { return collector{p} }

type collector struct{ p *Provider }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- objectsDesc
	ch <- classUsedDesc
	ch <- classCapacityDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	p := c.p
	gauge := func(d *prometheus.Desc, v int64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), lv...)
	}
	gauge(objectsDesc, int64(p.Machines.Len()), "machine")
	gauge(objectsDesc, int64(p.Volumes.Len()), "volume")
	gauge(objectsDesc, int64(p.Volumes.Snapshots.Len()), "volume-snapshot")
	gauge(objectsDesc, int64(p.Buckets.Len()), "bucket")
	used := map[string]map[string]int64{"machine": p.Machines.Usage(), "volume": p.Volumes.Usage(), "bucket": p.Buckets.Usage()}
	for _, c := range p.Machines.classes {
		gauge(classUsedDesc, used["machine"][c.Name], "machine", c.Name)
		gauge(classCapacityDesc, c.Capacity, "machine", c.Name)
	}
	for _, c := range p.Volumes.classes {
		gauge(classUsedDesc, used["volume"][c.Name], "volume", c.Name)
		gauge(classCapacityDesc, c.CapacityBytes, "volume", c.Name)
	}
	for _, c := range p.Buckets.classes {
		gauge(classUsedDesc, used["bucket"][c.Name], "bucket", c.Name)
		gauge(classCapacityDesc, c.Capacity, "bucket", c.Name)
	}
}
