package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/cli"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/internal/registrytest"
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
	registry := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
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

// startServing is [start] with the HTTP server of `crawlspace all` on addr,
// so that the test can reach the collector's API.
func startServing(t *testing.T, registry, addr string) *pipeline {
	t.Helper()
	p := start(t, registry, "--http-addr", addr, "--rate", "200")
	waitUntil(t, "http server up", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return p
}

// getJSON GETs url into v and returns the status code.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		must(t, json.NewDecoder(resp.Body).Decode(v))
	}
	return resp.StatusCode
}

// TestCollectByHTTPThroughAll posts a registry run to the collector API of
// `crawlspace all`, on the same port as its metrics and health, and waits
// until the pipeline has matched and checked every name the run published.
func TestCollectByHTTPThroughAll(t *testing.T) {
	registry := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "api-" + hex.EncodeToString(b)
	want := pushVariants(t, registry, []string{prefix + "/a", prefix + "/b"},
		[]string{"1.0", "1.1", "2.0"})
	addr := ocitest.FreeAddr(t)
	p := startServing(t, registry, addr)
	base := "http://" + addr

	body := `{"source":"registry","url":"http://` + registry + "/" + prefix + `","tags":"all"}`
	resp, err := http.Post(base+"/v1/collect", "application/json", strings.NewReader(body))
	must(t, err)
	var started struct {
		RunID string `json:"run_id"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&started))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || started.RunID == "" {
		t.Fatalf("POST /v1/collect: %d %+v, want 202 with a run id", resp.StatusCode, started)
	}
	var st struct {
		Names      int        `json:"names"`
		FinishedAt *time.Time `json:"finished_at"`
		Error      string     `json:"error"`
	}
	waitUntil(t, "the run finished", func() bool {
		code := getJSON(t, base+"/v1/collect/"+started.RunID, &st)
		return code == http.StatusOK && st.FinishedAt != nil
	})
	if st.Names != len(want) || st.Error != "" {
		t.Fatalf("run %s: %+v, want %d names and no error", started.RunID, st, len(want))
	}

	digests := p.wait(started.RunID, want...)
	for _, ref := range want {
		if digests[ref] == "" {
			t.Errorf("%s was matched and checked without a digest", ref)
		}
	}
	resp, err = http.Get(base + "/readyz")
	must(t, err)
	ready, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(ready)) != "ok" {
		t.Errorf("GET /readyz beside the API: %d %q", resp.StatusCode, ready)
	}
	t.Logf("%d names posted, crawled, matched and checked", len(want))
}

// hubRepo is one repository the replayed Hub lists, with what it says of
// it and what the test expects stored.
type hubRepo struct {
	ns, name     string
	official     bool
	pulls, stars int64
	bucket       string
	updated      time.Time
}

// path returns namespace/name.
func (r hubRepo) path() string { return r.ns + "/" + r.name }

// pullFigures are pull counts across Hub's buckets, each with the bucket
// Hub shows for it; the last is below the smallest bucket.
var pullFigures = []struct {
	pulls  int64
	bucket string
}{
	{2_500_000_000, "1B+"}, {150_000_000, "100M+"}, {25_000_000, "10M+"}, {7_000_000, "5M+"},
	{3_000_000, "1M+"}, {750_000, "500K+"}, {250_000, "100K+"}, {75_000, "50K+"},
	{12_000, "10K+"}, {4_321, ""},
}

// hubRepos makes the replayed Hub's repositories: official images named
// after prefix, and for each a search answer of that image and others
// repositories of its own, under publishers also named after prefix. Pull
// counts cycle through pullFigures and differ by one each.
func hubRepos(prefix string, official, others int) (offs []hubRepo, search map[string][]hubRepo) {
	search = map[string][]hubRepo{}
	k := 0
	next := func(ns, name string, isOfficial bool) hubRepo {
		f := pullFigures[k%len(pullFigures)]
		r := hubRepo{ns: ns, name: name, official: isOfficial, pulls: f.pulls + int64(k),
			stars: int64(3 * k), bucket: f.bucket}
		k++
		return r
	}
	for i := range official {
		o := next("library", fmt.Sprintf("%s-o%02d", prefix, i), true)
		o.updated = time.Date(2026, 7, 1, i, 0, 0, 0, time.UTC)
		offs = append(offs, o)
		// Hub's search for an official image's name lists the image too;
		// the walk has named it already.
		search[o.name] = []hubRepo{o}
		for j := range others {
			r := next(fmt.Sprintf("%s-pub%d", prefix, j), fmt.Sprintf("o%02d-%d", i, j), false)
			search[o.name] = append(search[o.name], r)
		}
	}
	return offs, search
}

// hubReplay answers Hub's official-image listing and repository search
// with pages generated in the shapes of collector/hub/testdata's
// library-1.json and search-nginx.json (see that directory's README).
type hubReplay struct {
	official []hubRepo
	search   map[string][]hubRepo
	requests atomic.Int64
}

func (h *hubReplay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	q := r.URL.Query()
	var body any
	switch r.URL.Path {
	case "/v2/repositories/library/":
		body = h.libraryPage(r)
	case "/v2/search/repositories/":
		if q.Get("ordering") != "-pull_count" || q.Get("page") != "" {
			http.Error(w, "the walk asks for one page, most pulled first", http.StatusBadRequest)
			return
		}
		body = searchPage(h.search[q.Get("query")])
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// libraryPage is one page of /v2/repositories/library/, with a next link
// as Hub gives it.
func (h *hubReplay) libraryPage(r *http.Request) map[string]any {
	q := r.URL.Query()
	size, _ := strconv.Atoi(q.Get("page_size"))
	page, _ := strconv.Atoi(q.Get("page"))
	size, page = max(size, 1), max(page, 1)
	from := min((page-1)*size, len(h.official))
	to := min(from+size, len(h.official))
	var next any
	if to < len(h.official) {
		next = fmt.Sprintf("http://%s/v2/repositories/library/?page=%d&page_size=%d",
			r.Host, page+1, size)
	}
	results := []map[string]any{}
	for _, o := range h.official[from:to] {
		results = append(results, map[string]any{"name": o.name, "namespace": "library",
			"repository_type": "image", "status": 1, "status_description": "active",
			"description": "An official image.", "is_private": false, "star_count": o.stars,
			"pull_count": o.pulls, "last_updated": o.updated.Format(time.RFC3339Nano),
			"date_registered": "2014-06-05T20:04:30.000000Z", "affiliation": "",
			"media_types":   []string{"application/vnd.oci.image.index.v1+json"},
			"content_types": []string{"image"}, "categories": []string{}})
	}
	return map[string]any{"count": len(h.official), "next": next, "previous": nil,
		"results": results}
}

// searchPage is the one page of a search the walk reads. Official images
// are named without their namespace there.
func searchPage(rs []hubRepo) map[string]any {
	results := []map[string]any{}
	for _, r := range rs {
		name := r.path()
		if r.official {
			name = r.name
		}
		results = append(results, map[string]any{"repo_name": name,
			"short_description": "A repository.", "star_count": r.stars, "pull_count": r.pulls,
			"repo_owner": "", "is_automated": false, "is_official": r.official})
	}
	return map[string]any{"count": len(rs), "next": nil, "previous": nil, "results": results}
}

// wantRow is how the test's popularity query prints r.
func (r hubRepo) wantRow() string {
	updated := "-"
	if !r.updated.IsZero() {
		updated = r.updated.Format("2006-01-02T15:04:05")
	}
	bucket := r.bucket
	if bucket == "" {
		bucket = "-"
	}
	return fmt.Sprintf("%s %t %s %d %d %s %s 1", r.path(), r.official, r.ns, r.pulls, r.stars,
		bucket, updated)
}

// pushLatest pushes to registry, as each of repos's :latest, a one-layer
// image holding its own reference, so that no two share a digest, and
// returns the references sorted. Parallel subtests share the pushes.
func pushLatest(t *testing.T, registry string, repos []hubRepo) []string {
	t.Helper()
	want := make([]string, len(repos))
	for i, r := range repos {
		want[i] = registry + "/" + r.path() + ":latest"
	}
	const pushers = 4
	t.Run("push", func(t *testing.T) {
		for n := range pushers {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				t.Parallel()
				for i := n; i < len(repos); i += pushers {
					layer := ocitest.Layer{MediaType: ocitest.MediaTarGzip, Blob: ocitest.Gzip(t,
						ocitest.Tar(t, ocitest.Entry{Name: "etc/hub-repository", Body: want[i]}))}
					img := ocitest.Build(t, "1000:1000", layer)
					ocitest.Push(t, registry, repos[i].path(), "latest", img)
				}
			})
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	slices.Sort(want)
	return want
}

// hubOfficial and hubOthers size the replayed Hub: official images, and
// search results of each beyond the official image itself.
const hubOfficial, hubOthers = 50, 4

// TestCollectHubThroughPipeline walks a replayed Hub of a few hundred
// repositories with `crawlspace collect hub --mode walk`, each repository's
// :latest pushed to the test registry as an image of its own, and checks
// that every name was crawled, matched and checked and that the popularity
// Hub gave is stored.
func TestCollectHubThroughPipeline(t *testing.T) {
	registry := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	began := time.Now()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "hub-" + hex.EncodeToString(b)
	official, search := hubRepos(prefix, hubOfficial, hubOthers)
	var repos []hubRepo
	for _, o := range official {
		repos = append(repos, search[o.name]...)
	}
	want := pushLatest(t, registry, repos)
	t.Logf("%d images pushed in %s", len(want), time.Since(began).Round(time.Millisecond))

	replay := &hubReplay{official: official, search: search}
	hub := httptest.NewServer(replay)
	t.Cleanup(hub.Close)
	p := start(t, registry)
	run := "collect-" + prefix
	var out bytes.Buffer
	err := cli.Run(t.Context(), []string{"collect", "hub", "--mode", "walk", "--run-id", run,
		"--hub-url", hub.URL, "--hub-registry", registry, "--limit", "1000",
		"--page-size", "20", "--rate", "500", "--pg-url", p.pgURL, "--nats-url", p.natsURL,
		"--log-level", "warn"}, os.Getenv, nil, &out, testWriter{t})
	if err != nil {
		t.Fatalf("collect hub: %v", err)
	}
	var res struct{ Names, Repositories int }
	must(t, json.Unmarshal(out.Bytes(), &res))
	if res.Names != len(want) || res.Repositories != len(repos) {
		t.Fatalf("collect reported %+v, want %d names in %d repositories", res, len(want),
			len(repos))
	}
	collected := time.Now()

	digests := p.wait(run, want...)
	if n := len(slices.Compact(slices.Sorted(maps.Values(digests)))); n != len(want) {
		t.Errorf("%d distinct digests matched and checked, want %d", n, len(want))
	}
	mine := `position($2 in r.name) > 0 AND r.registry = $1`
	crawled := p.rows(`SELECT r.registry || '/' || r.name || ':' || o.tag
		FROM tag_observations o JOIN repositories r ON r.id = o.repository_id
		WHERE `+mine+` ORDER BY 1`, registry, prefix)
	if !slices.Equal(crawled, want) {
		t.Errorf("%d tags crawled, want the %d collected", len(crawled), len(want))
	}
	checked := p.rows(`SELECT DISTINCT image_digest FROM rule_results
		WHERE image_digest = ANY($1)`, slices.Collect(maps.Values(digests)))
	if len(checked) != len(want) {
		t.Errorf("%d images have rule results, want %d", len(checked), len(want))
	}

	checkPopularity(t, p, registry, prefix, repos)
	t.Logf("%d names from %d hub requests collected, crawled, matched and checked; "+
		"pipeline %s after the collect, %s in all", len(want), replay.requests.Load(),
		time.Since(collected).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// checkPopularity compares what repositories and repository_popularity
// hold for the repositories under prefix with what the replayed Hub said:
// one observation each, with Hub's pull count, stars, bucket and, for the
// official images, last update.
func checkPopularity(t *testing.T, p *pipeline, registry, prefix string, repos []hubRepo) {
	t.Helper()
	mine := `position($2 in r.name) > 0 AND r.registry = $1`
	var wantPop []string
	for _, r := range repos {
		wantPop = append(wantPop, r.wantRow())
	}
	slices.Sort(wantPop)
	gotPop := p.rows(`SELECT r.name, r.official, r.publisher, p.pull_count, p.star_count,
			coalesce(nullif(p.bucket, ''), '-'),
			coalesce(to_char(max(p.last_updated) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
				'-'), count(*)
		FROM repositories r JOIN repository_popularity p ON p.repository_id = r.id
		WHERE `+mine+` GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1`, registry, prefix)
	if diff := cmp.Diff(wantPop, gotPop); diff != "" {
		t.Errorf("stored popularity (-hub +stored):\n%s", diff)
	}
}
