package matcher_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tagStretch is one stretch of time a tag of a repository pointed at a
// digest, hours after a fixed start.
type tagStretch struct {
	repo, tag, digest string
	from, to          int
}

// tags stores repositories on docker.io and their tag history.
func (e *env) tags(t *testing.T, stretches []tagStretch) {
	t.Helper()
	ctx := t.Context()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range stretches {
		var id int64
		err := e.pool.QueryRow(ctx, `
			INSERT INTO repositories (registry, name, first_seen) VALUES ('docker.io', $1, now())
			ON CONFLICT (registry, name) DO UPDATE SET name = EXCLUDED.name
			RETURNING id`, s.repo).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.pool.Exec(ctx, `
			INSERT INTO tag_observations (repository_id, tag, digest, first_seen, last_seen)
			VALUES ($1, $2, $3, $4, $5)`, id, s.tag, s.digest,
			start.Add(time.Duration(s.from)*time.Hour), start.Add(time.Duration(s.to)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestMatchedTags checks that image.matched, after a crawl and after a
// notice, lists the tags whose newest stretch points at the digest: not a
// tag that moved away, once a tag that moved away and back.
func TestMatchedTags(t *testing.T) {
	const other = "sha256:0000000000000000000000000000000000000000000000000000000000000002"
	e := newEnv(t)
	curl := []pkg{{name: "libcurl4", version: "7.74.0-1.3+deb11u7", source: "curl",
		sourceVersion: "7.74.0-1.3+deb11u7"}}
	e.image(t, bullseye, "bullseye", curl)
	e.image(t, other, "bullseye", nil)
	e.tags(t, []tagStretch{
		{"library/app", "1", bullseye, 0, 10},
		{"library/app", "latest", bullseye, 0, 5},
		{"library/app", "latest", other, 5, 10},
		{"library/app", "2", bullseye, 0, 3},
		{"library/app", "2", other, 3, 6},
		{"library/app", "2", bullseye, 6, 10},
		{"team/app", "stable", bullseye, 2, 10},
		{"team/app", "old", other, 0, 10},
	})
	want := []string{"docker.io/library/app:1", "docker.io/library/app:2",
		"docker.io/team/app:stable"}

	tests := []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"crawl", func(t *testing.T) error { return e.crawled(t, bullseye, "run-1") }},
		{"notice", func(t *testing.T) error {
			return e.parsed(t, e.notice(t, "DSA-5587-1", "h1",
				aff{"bullseye", "curl", "7.74.0-1.3+deb11u11", "fixed"}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(t); err != nil {
				t.Fatal(err)
			}
			got := e.next(t)
			if got.GetDigest() != bullseye {
				t.Fatalf("image.matched for %s, want %s", got.GetDigest(), bullseye)
			}
			if d := cmp.Diff(want, got.GetTags()); d != "" {
				t.Errorf("tags (-want +got):\n%s", d)
			}
		})
	}
}
