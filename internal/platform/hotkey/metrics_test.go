package hotkey_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
)

// metricValue gathers reg and returns the value of the series metric{name="<name>"},
// failing the test if it is absent. (prometheus/testutil would do, but it needs a module
// that go.mod does not list.)
func metricValue(t *testing.T, reg *prometheus.Registry, metric, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != metric {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" && l.GetValue() == name {
					if g := m.GetGauge(); g != nil {
						return g.GetValue()
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{name=%q}", metric, name)
	return 0
}

func TestMetrics(t *testing.T) {
	clk := newFakeClock()
	reg := prometheus.NewPedanticRegistry()

	d := hotkey.NewDetector(hotkey.DetectorOptions{MinCount: 2, MaxKeysPerBucket: 32, Now: clk.Now})
	other := hotkey.NewDetector(hotkey.DetectorOptions{Now: clk.Now})
	c := hotkey.NewCache[string](10, time.Minute, clk.Now)
	otherCache := hotkey.NewCache[string](10, time.Minute, clk.Now)
	// Several users register side by side, told apart by the name label.
	reg.MustRegister(d.Collectors("comment_first_page")...)
	reg.MustRegister(other.Collectors("other")...)
	reg.MustRegister(c.Collectors("comment_first_page")...)
	reg.MustRegister(otherCache.Collectors("other")...)

	touchN(d, "a", 3)
	touchN(d, "b", 2)
	touchN(d, "c", 1)
	clk.Advance(time.Second)
	if v := metricValue(t, reg, "mdouyin_hotkey_tracked", "comment_first_page"); v != 2 {
		t.Fatalf("hotkey_tracked = %v, want 2", v)
	}
	if v := metricValue(t, reg, "mdouyin_hotkey_tracked", "other"); v != 0 {
		t.Fatalf("hotkey_tracked{other} = %v, want 0", v)
	}

	// MaxKeysPerBucket 32 is one key per shard: 1000 distinct keys must overflow.
	for i := range 1000 {
		d.Touch(fmt.Sprint("crawl-", i))
	}
	if v := metricValue(t, reg, "mdouyin_hotkey_overflow_touches_total", "comment_first_page"); v < 1000-32 {
		t.Fatalf("hotkey_overflow_touches_total = %v, want at least %d", v, 1000-32)
	}

	c.Set("v1", "k1", "x")
	c.Get("k1")
	c.Get("k1")
	c.Get("k2")
	c.InvalidateTag("v1")
	c.InvalidateTag("v9")
	c.Get("k1")
	otherCache.Get("k1")
	for metric, want := range map[string]float64{
		"mdouyin_hot_cache_hits_total":          2,
		"mdouyin_hot_cache_misses_total":        2,
		"mdouyin_hot_cache_invalidations_total": 2,
	} {
		if v := metricValue(t, reg, metric, "comment_first_page"); v != want {
			t.Errorf("%s = %v, want %v", metric, v, want)
		}
	}
	if v := metricValue(t, reg, "mdouyin_hot_cache_misses_total", "other"); v != 1 {
		t.Errorf("misses{other} = %v, want 1", v)
	}
}
