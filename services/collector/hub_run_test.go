package collector_test

import (
	"context"
	"slices"
	"testing"

	"crawlspace.dev/services/collector"
	"crawlspace.dev/services/collector/hub/hubtest"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/fetch"
	"crawlspace.dev/services/platform/store/storetest"
)

func TestHubWalkAndSortOrder(t *testing.T) {
	s := hubtest.Start(t, "hub/testdata")
	tests := []struct {
		name string
		spec collector.Spec
		want []string
	}{
		{"walk", collector.Spec{Source: "hub", Mode: "walk"}, []string{
			"docker.io/library/nginx:latest", "docker.io/nginxinc/nginx-unprivileged:latest",
			"docker.io/bitnami/nginx:latest", "docker.io/library/redis:latest",
			"docker.io/bitnami/redis:latest", "docker.io/library/hello-world:latest"}},
		{"walk limited", collector.Spec{Source: "hub", Mode: "walk", Limit: 2}, []string{
			"docker.io/library/nginx:latest", "docker.io/nginxinc/nginx-unprivileged:latest"}},
		{"sort by pulls", collector.Spec{Source: "hub", Mode: "sort"}, []string{
			"docker.io/library/nginx:latest", "docker.io/library/redis:latest",
			"docker.io/bitnami/nginx:latest", "docker.io/someone/tool:latest"}},
		{"recent tags", collector.Spec{Source: "hub", Mode: "sort", Limit: 1, Tags: "recent:2"},
			[]string{"docker.io/library/nginx:latest", "docker.io/library/nginx:1.27"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			opts := collector.Options{HubURL: s.URL, Fetch: fetch.New(fetch.Options{Rate: 1000})}
			err := collector.Walk(t.Context(), tt.spec, "", opts,
				func(_ context.Context, r *collector.Repository) error {
					for _, tag := range r.Tags {
						got = append(got, r.Ref(tag))
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("names %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestHubRunStoresPopularityAndResumes(t *testing.T) {
	s := hubtest.Start(t, "hub/testdata")
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	c := collector.New(pool, b, collector.Options{HubURL: s.URL,
		Fetch: fetch.New(fetch.Options{Rate: 1000})})
	spec := collector.Spec{Source: "hub", Mode: "walk", Limit: 4, RunID: "hub-1"}
	if res, err := c.Run(t.Context(), spec); err != nil || res.Names != 4 {
		t.Fatalf("first part: %+v, %v", res, err)
	}
	spec.Limit = 0
	if res, err := c.Run(t.Context(), spec); err != nil || res.Names != 2 || !res.Resumed {
		t.Fatalf("resumed part: %+v, %v", res, err)
	}
	evs := named(t, b)
	if len(evs) != 6 {
		t.Fatalf("%d names published, want 6", len(evs))
	}
	for _, e := range evs {
		if e.GetRef() == "docker.io/library/nginx:latest" {
			p := e.GetPopularity()
			if !p.GetOfficial() || p.GetPublisher() != "library" || p.GetBucket() != "1B+" ||
				p.GetPullCount() != 12_000_000_000 || p.GetStarCount() != 20000 ||
				p.GetObservedAt() == nil || p.GetLastUpdated() == nil {
				t.Errorf("nginx popularity = %v", p)
			}
		}
	}
	got := rowsOf(t, pool, `SELECT r.name, r.official, p.bucket, p.pull_count,
		p.last_updated IS NOT NULL FROM repositories r JOIN repository_popularity p
		ON p.repository_id = r.id WHERE r.registry = 'docker.io' ORDER BY 1`)
	want := []string{
		"bitnami/nginx false 100M+ 650000000 false",
		"bitnami/redis false 10K+ 45000 false",
		"library/hello-world true 5M+ 7000000 true",
		"library/nginx true 1B+ 12000000000 true",
		"library/redis true 1B+ 3800000000 true",
		"nginxinc/nginx-unprivileged false 1B+ 1200000000 false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("stored popularity:\n%q\nwant\n%q", got, want)
	}
}

// TestHubSortReadsPullsOffThePage checks the HTML fallback: someone/tool's
// search entry has no pull_count, and its page shows 9,876.
func TestHubSortReadsPullsOffThePage(t *testing.T) {
	s := hubtest.Start(t, "hub/testdata")
	pulls := map[string]int64{}
	opts := collector.Options{HubURL: s.URL, Fetch: fetch.New(fetch.Options{Rate: 1000})}
	err := collector.Walk(t.Context(), collector.Spec{Source: "hub", Mode: "sort"}, "", opts,
		func(_ context.Context, r *collector.Repository) error {
			pulls[r.Name] = r.Popularity.GetPullCount()
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if pulls["someone/tool"] != 9876 || pulls["bitnami/nginx"] != 650_000_000 {
		t.Errorf("pull counts %v, want someone/tool's 9876 from its page", pulls)
	}
}
