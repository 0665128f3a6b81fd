package collector_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/collector"
	"crawlspace.dev/services/internal/registrytest"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/fetch"
	"crawlspace.dev/services/platform/store/storetest"
)

// named reads every image.named message in b's stream.
func named(t *testing.T, b *bus.Bus) []*crawlspacev1.ImageNamed {
	t.Helper()
	subject := b.Subject(crawlspacev1.SubjectImageNamed)
	prefix, _ := strings.CutSuffix(subject, "."+crawlspacev1.SubjectImageNamed)
	js, err := jetstream.New(b.Conn())
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(t.Context(), strings.ToUpper(prefix)+"_IMAGES")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []*crawlspacev1.ImageNamed
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != subject {
			continue
		}
		var ev crawlspacev1.ImageNamed
		if err := bus.Decode(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, &ev)
	}
	return out
}

func refs(evs []*crawlspacev1.ImageNamed) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.GetRef())
	}
	slices.Sort(out)
	return out
}

func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// seed pushes repos repositories under team/ with tags each, plus one
// repository outside team/, and returns every team ref with tag want.
func seed(t *testing.T, reg *registrytest.Registry, repos int, tags []string) {
	t.Helper()
	p := reg.Pusher(t)
	for i := range repos {
		name := fmt.Sprintf("team/app%02d", i)
		p.Tag(name, p.Image(name, time.Time{}).Manifest, tags...)
	}
	p.Tag("other/app", p.Image("other/app", time.Time{}).Manifest, "latest")
}

func newCollector(t *testing.T) (*collector.Collector, *pgxpool.Pool, *bus.Bus) {
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	f := fetch.New(fetch.Options{Rate: 500, Burst: 50})
	return collector.New(pool, b, collector.Options{Fetch: f, PageSize: 4}), pool, b
}

func TestRegistryRunStoresPublishesAndResumes(t *testing.T) {
	reg := registrytest.Start(t, "", "")
	tags := []string{"latest", "1.0", "1.1", "2.0"}
	seed(t, reg, 10, tags)
	c, pool, b := newCollector(t)
	spec := collector.Spec{Source: "registry", URL: reg.URL() + "/team", Tags: "all",
		RunID: "run-a", Limit: 4}

	res, err := c.Run(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Repositories != 4 || res.Names != 16 || res.Resumed {
		t.Fatalf("first part: %+v, want 4 repositories, 16 names", res)
	}
	var cursor string
	must(t, pool.QueryRow(t.Context(), `SELECT cursor FROM collect_runs WHERE run_id = 'run-a'`).
		Scan(&cursor))
	if cursor != "team/app03" {
		t.Errorf("cursor = %q, want team/app03", cursor)
	}

	// Resume without a limit: the rest, none named twice.
	spec.Limit = 0
	res, err = c.Run(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Repositories != 6 || res.Names != 24 || !res.Resumed {
		t.Fatalf("resumed part: %+v, want 6 repositories, 24 names", res)
	}
	var want []string
	for i := range 10 {
		for _, tag := range tags {
			want = append(want, fmt.Sprintf("%s/team/app%02d:%s", reg.Host, i, tag))
		}
	}
	slices.Sort(want)
	evs := named(t, b)
	if got := refs(evs); !slices.Equal(got, want) {
		t.Errorf("published %d names:\n%q\nwant %d:\n%q", len(got), got, len(want), want)
	}
	for _, e := range evs {
		if e.GetRunId() != "run-a" || e.GetNamedAt() == nil || e.GetPopularity() != nil {
			t.Fatalf("event %v: want run-a, a named_at and no popularity", e)
		}
	}

	t.Run("stored", func(t *testing.T) {
		if n := count(t, pool, `SELECT count(*) FROM repositories WHERE registry = $1
			AND name LIKE 'team/%' AND collected_at IS NOT NULL`, reg.Host); n != 10 {
			t.Errorf("%d team repositories stored, want 10", n)
		}
		if n := count(t, pool, `SELECT count(*) FROM repository_tags`); n != 40 {
			t.Errorf("%d tags stored, want 40", n)
		}
		if n := count(t, pool,
			`SELECT count(*) FROM repositories WHERE name = 'other/app'`); n != 0 {
			t.Error("a repository outside the url's path was collected")
		}
		if n := count(t, pool, `SELECT names FROM collect_runs WHERE run_id = 'run-a'
			AND finished_at IS NOT NULL AND error = ''`); n != 40 {
			t.Errorf("run counts %d names, want 40", n)
		}
	})

	t.Run("a rerun of a finished run names nothing again", func(t *testing.T) {
		spec.RunID = "run-a"
		res, err := c.Run(t.Context(), spec)
		if err != nil || res.Names != 0 {
			t.Errorf("rerun: %+v, %v", res, err)
		}
		if n := len(named(t, b)); n != 40 {
			t.Errorf("%d messages after the rerun, want 40", n)
		}
	})
}

func TestRegistryRunTagPolicies(t *testing.T) {
	reg := registrytest.Start(t, "", "")
	p := reg.Pusher(t)
	day := func(d int) time.Time { return time.Date(2026, 2, d, 0, 0, 0, 0, time.UTC) }
	for tag, at := range map[string]time.Time{"old": day(1), "mid": day(5), "new": day(9),
		"latest": day(9), "nodate": {}} {
		p.Tag("p/app", p.Image("p/app", at).Manifest, tag)
	}
	tests := []struct {
		policy string
		want   []string
	}{
		{"latest", []string{"latest"}},
		{"recent:2", []string{"latest", "new"}},
		{"regexp:(old|mid)", []string{"mid", "old"}},
		{"all", []string{"latest", "mid", "new", "nodate", "old"}},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			var got []string
			spec := collector.Spec{Source: "registry", URL: reg.URL(), Tags: tt.policy}
			err := collector.Walk(t.Context(), spec, "", collector.Options{},
				func(_ context.Context, r *collector.Repository) error {
					got = append(got, r.Tags...)
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("tags %q, want %q", got, tt.want)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func rowsOf(t *testing.T, pool *pgxpool.Pool, query string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		s := make([]string, len(vals))
		for i, v := range vals {
			s[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(s, " "))
	}
	return out
}
