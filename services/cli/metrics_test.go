package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"crawlspace.dev/services/platform/store/storetest"
)

// TestDashboardsChartServedSeries checks that every crawlspace_* series
// the Grafana dashboards chart is one the process serves.
func TestDashboardsChartServedSeries(t *testing.T) {
	pool, _ := storetest.New(t)
	m := newMetrics(pool)
	m.Stage("matcher").Observe(time.Millisecond, nil)
	m.Stage("matcher").Failed()
	m.Stage("matcher").Retried()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, mf := range mfs {
		served[mf.GetName()] = true
		if mf.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				served[mf.GetName()+s] = true
			}
		}
	}
	files, err := filepath.Glob("../../deploy/helm/crawlspace/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards found (%v)", err)
	}
	series := regexp.MustCompile(`crawlspace_[a-z_]+`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Targets []struct{ Expr string } `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				for _, name := range series.FindAllString(tg.Expr, -1) {
					if !served[name] {
						t.Errorf("%s charts %s, which the process does not serve", f, name)
					}
				}
			}
		}
	}
}
