package hotkey

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns the Detector's metrics, labelled name="<name>" so that several
// detectors (one per kind of key) can be registered with one registry:
//
//	mdouyin_hotkey_tracked{name}                 keys hot in the current interval
//	mdouyin_hotkey_overflow_touches_total{name}  accesses not counted exactly because a bucket was full
//
// A steadily rising overflow count means MaxKeysPerBucket is too small for the traffic.
// The values are read at scrape time, so collecting costs the hot path nothing.
func (d *Detector) Collectors(name string) []prometheus.Collector {
	labels := prometheus.Labels{"name": name}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace:   "mdouyin",
			Name:        "hotkey_tracked",
			Help:        "Keys the hot-key detector considers hot in the current interval.",
			ConstLabels: labels,
		}, func() float64 {
			return float64(len(d.current(d.intervalAt(d.now())).top))
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace:   "mdouyin",
			Name:        "hotkey_overflow_touches_total",
			Help:        "Accesses the hot-key detector did not count exactly because a bucket had reached MaxKeysPerBucket.",
			ConstLabels: labels,
		}, func() float64 { return float64(d.overflowed()) }),
	}
}

// Collectors returns the Cache's metrics, labelled name="<name>" so that several caches
// can be registered with one registry:
//
//	mdouyin_hot_cache_hits_total{name}           Gets that found a live entry
//	mdouyin_hot_cache_misses_total{name}         Gets that did not
//	mdouyin_hot_cache_invalidations_total{name}  InvalidateTag calls, whether or not the tag had entries
func (c *Cache[V]) Collectors(name string) []prometheus.Collector {
	labels := prometheus.Labels{"name": name}
	counter := func(metric, help string, n interface{ Load() uint64 }) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace:   "mdouyin",
			Name:        metric,
			Help:        help,
			ConstLabels: labels,
		}, func() float64 { return float64(n.Load()) })
	}
	return []prometheus.Collector{
		counter("hot_cache_hits_total", "Hot-cache lookups that found a live entry.", &c.hits),
		counter("hot_cache_misses_total", "Hot-cache lookups that found no live entry.", &c.misses),
		counter("hot_cache_invalidations_total", "Hot-cache tag invalidations.", &c.invalidations),
	}
}
