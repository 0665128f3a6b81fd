package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

// freeAddr returns a loopback address with a port no one listened on a
// moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	must(t, ln.Close())
	return addr
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
	registry := need(t, "CRAWLSPACE_TEST_REGISTRY")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "api-" + hex.EncodeToString(b)
	want := pushVariants(t, registry, []string{prefix + "/a", prefix + "/b"},
		[]string{"1.0", "1.1", "2.0"})
	addr := freeAddr(t)
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
