package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"crawlspace.dev/services/cli"
	"crawlspace.dev/services/collector/registry/registrytest"
)

// pushVariants pushes into each of repos one small image under every tag,
// each tag with a manifest of its own (the crawler announces one crawl per
// digest and run, so names sharing a digest would share their events), and
// returns every reference it made.
func pushVariants(t *testing.T, registry string, repos, tags []string) []string {
	t.Helper()
	p := registrytest.NewPusher(t, registry)
	var refs []string
	for _, repo := range repos {
		img := p.Image(repo, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		for _, tag := range tags {
			p.Tag(repo, registrytest.Variant(t, img.Manifest, repo+":"+tag), tag)
			refs = append(refs, registry+"/"+repo+":"+tag)
		}
	}
	slices.Sort(refs)
	return refs
}

// e2eTags is how many tags each of the four repositories gets.
var e2eTags = 60

// TestCollectRegistryThroughPipeline collects a few hundred names from the
// test registry's catalog with `crawlspace collect registry` and waits until
// the running pipeline has crawled, matched and checked every one.
func TestCollectRegistryThroughPipeline(t *testing.T) {
	registry := need(t, "CRAWLSPACE_TEST_REGISTRY")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "collect-" + hex.EncodeToString(b)
	var repos, tags []string
	for i := range 4 {
		repos = append(repos, fmt.Sprintf("%s/app%d", prefix, i))
	}
	for i := range e2eTags {
		tags = append(tags, fmt.Sprintf("1.%d", i))
	}
	want := pushVariants(t, registry, repos, tags)

	p := start(t, registry)
	common := []string{"collect", "registry", registry + "/" + prefix, "--tags", "all",
		"--pg-url", p.pgURL, "--nats-url", p.natsURL, "--insecure-registry", registry,
		"--rate", "200", "--page-size", "3", "--log-level", "warn"}

	t.Run("dry run prints every name and publishes none", func(t *testing.T) {
		var out bytes.Buffer
		err := cli.Run(t.Context(), append(slices.Clone(common), "--dry-run"), os.Getenv, nil,
			&out, testWriter{t})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var n struct{ Ref string }
			must(t, json.Unmarshal([]byte(line), &n))
			got = append(got, n.Ref)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("dry run printed %d names, want %d", len(got), len(want))
		}
		s, err := p.js.Stream(t.Context(), "IMAGES")
		must(t, err)
		info, err := s.Info(t.Context())
		must(t, err)
		if info.State.Msgs != 0 {
			t.Errorf("dry run left %d messages in IMAGES", info.State.Msgs)
		}
	})

	run := "collect-" + prefix
	var out bytes.Buffer
	if err := cli.Run(t.Context(), append(common, "--run-id", run), os.Getenv, nil, &out,
		testWriter{t}); err != nil {
		t.Fatalf("collect registry: %v", err)
	}
	var res struct{ Names, Repositories int }
	must(t, json.Unmarshal(out.Bytes(), &res))
	if res.Names != len(want) || res.Repositories != len(repos) {
		t.Fatalf("collect reported %+v, want %d names in %d repositories", res, len(want),
			len(repos))
	}
	waitUntil(t, "every collected tag crawled", func() bool {
		n := p.rows(`SELECT count(*) FROM tag_observations o JOIN repositories r
			ON r.id = o.repository_id WHERE r.name LIKE $1`, prefix+"/%")
		return n[0] == fmt.Sprint(len(want))
	})
	digests := p.wait(run, want...)
	for _, ref := range want {
		if digests[ref] == "" {
			t.Fatalf("%s has no digest", ref)
		}
	}
	got := p.rows(`SELECT r.name || ':' || o.tag FROM tag_observations o
		JOIN repositories r ON r.id = o.repository_id WHERE r.name LIKE $1 ORDER BY 1`,
		prefix+"/%")
	if len(got) != len(want) {
		t.Errorf("%d tags crawled, want %d", len(got), len(want))
	}
	checked := p.rows(`SELECT DISTINCT image_digest FROM rule_results WHERE image_digest = $1`,
		digests[want[0]])
	if len(checked) != 1 {
		t.Errorf("no rule results for %s", want[0])
	}
	t.Logf("%d names collected, crawled, matched and checked", len(want))
}
