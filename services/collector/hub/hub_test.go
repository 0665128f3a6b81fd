package hub_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"crawlspace.dev/services/collector/hub"
	"crawlspace.dev/services/collector/hub/hubtest"
	"crawlspace.dev/services/platform/fetch"
)

func client(t *testing.T, s *hubtest.Server) *hub.Client {
	c, err := hub.New(s.URL, fetch.New(fetch.Options{Rate: 1000, Burst: 10}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func paths(rs []hub.Repository) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Path())
	}
	return out
}

func TestOfficialFollowsNext(t *testing.T) {
	s := hubtest.Start(t, "testdata")
	var got []hub.Repository
	err := client(t, s).Official(t.Context(), 2, func(rs []hub.Repository) (bool, error) {
		got = append(got, rs...)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"library/redis", "library/nginx", "library/hello-world"}
	if !slices.Equal(paths(got), want) {
		t.Fatalf("official = %q, want %q", paths(got), want)
	}
	n := got[1]
	if !n.Official || n.PullCount != 12_000_000_000 || n.StarCount != 20000 ||
		!n.LastUpdated.Equal(time.Date(2026, 7, 2, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("nginx = %+v", n)
	}
}

func TestSearch(t *testing.T) {
	s := hubtest.Start(t, "testdata")
	tests := []struct {
		query, ordering string
		want            []string
		official        []bool
	}{
		{"nginx", "-pull_count", []string{"library/nginx", "nginxinc/nginx-unprivileged",
			"bitnami/nginx"}, []bool{true, false, false}},
		{"", "-pull_count", []string{"library/nginx", "library/redis", "bitnami/nginx",
			"someone/tool"}, []bool{true, true, false, false}},
		{"nothing-like-it", "-pull_count", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var got []hub.Repository
			err := client(t, s).Search(t.Context(), tt.query, tt.ordering, 2,
				func(rs []hub.Repository) (bool, error) {
					got = append(got, rs...)
					return tt.query == "", nil // one page for a named query
				})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(paths(got), tt.want) {
				t.Errorf("search = %q, want %q", paths(got), tt.want)
			}
			for i, r := range got {
				if r.Official != tt.official[i] {
					t.Errorf("%s official = %v", r.Path(), r.Official)
				}
			}
		})
	}
}

func TestTags(t *testing.T) {
	s := hubtest.Start(t, "testdata")
	tags, err := client(t, s).Tags(t.Context(), "library/nginx", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 3 || tags[0].Name != "latest" || tags[2].Name != "1.25" ||
		tags[2].LastUpdated.Year() != 2024 {
		t.Errorf("tags = %+v", tags)
	}
}

func TestRetryAfterFromHub(t *testing.T) {
	s := hubtest.Start(t, "testdata")
	s.TooMany.Store(1)
	start := time.Now()
	if _, err := client(t, s).Tags(t.Context(), "library/nginx", 100); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || s.Requests.Load() != 2 {
		t.Errorf("%d requests in %v; want a retry after Retry-After's second",
			s.Requests.Load(), d)
	}
}

func TestBucket(t *testing.T) {
	tests := []struct {
		pulls int64
		want  string
	}{
		{12_000_000_000, "1B+"}, {1_000_000_000, "1B+"}, {999_999_999, "100M+"},
		{100_000_000, "100M+"}, {10_000_000, "10M+"}, {7_000_000, "5M+"}, {1_000_000, "1M+"},
		{650_000, "500K+"}, {100_000, "100K+"}, {50_000, "50K+"}, {45_000, "10K+"},
		{10_000, "10K+"}, {9_999, ""}, {0, ""},
	}
	for _, tt := range tests {
		if got := hub.Bucket(tt.pulls); got != tt.want {
			t.Errorf("Bucket(%d) = %q, want %q", tt.pulls, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) ([]hub.Repository, string, error){
			hub.ParseRepositories, hub.ParseSearch} {
			rs, _, err := parse(data)
			if err != nil {
				continue
			}
			for _, r := range rs {
				if r.Namespace == "" || r.Name == "" {
					t.Fatalf("repository with an empty path part: %+v", r)
				}
			}
		}
		if tags, _, err := hub.ParseTags(data); err == nil {
			for _, tg := range tags {
				if tg.Name == "" {
					t.Fatal("empty tag")
				}
			}
		}
	})
}
