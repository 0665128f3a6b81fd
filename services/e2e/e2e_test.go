// Package e2e runs the whole pipeline, as `crawlspace all` runs it, on real
// images in a real registry, a real NATS JetStream server and PostgreSQL,
// and checks what lands in the database against the real Debian tools.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/cli"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/store/storetest"
)

// pipeline is one running `crawlspace all` with the client side of a test.
type pipeline struct {
	t       *testing.T
	pool    *pgxpool.Pool
	pgURL   string
	natsURL string
	nc      *nats.Conn
	js      jetstream.JetStream
	events  chan *nats.Msg
}

// start runs `crawlspace all` against a fresh database and a NATS server
// of the test's own, and connects a nats.go client to the same server.
// Extra arguments go after the test's own, so a repeated flag overrides.
func start(t *testing.T, registry string, extra ...string) *pipeline {
	t.Helper()
	pool, pgURL := storetest.New(t)
	srv, err := bus.Embedded(t.TempDir(), "127.0.0.1:-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	p := &pipeline{t: t, pool: pool, pgURL: pgURL, natsURL: srv.ClientURL(),
		events: make(chan *nats.Msg, 1024)}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		args := append([]string{"all",
			"--pg-url", pgURL, "--nats-url", p.natsURL, "--http-addr", "127.0.0.1:0",
			"--insecure-registry", registry, "--notices-sources", "none",
			"--max-attempts", "2", "--retry-backoff", "200ms", "--log-level", "warn",
		}, extra...)
		done <- cli.Run(ctx, args, os.Getenv, nil, io.Discard, testWriter{t})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("crawlspace all: %v", err)
		}
	})

	if p.nc, err = nats.Connect(p.natsURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.nc.Close)
	if p.js, err = jetstream.New(p.nc); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"image.matched", "image.checked", "failure.recorded"} {
		if _, err := p.nc.ChanSubscribe(s, p.events); err != nil {
			t.Fatal(err)
		}
	}
	// The stages declare the streams; wait until they have.
	waitUntil(t, "streams declared", func() bool {
		_, err := p.js.Stream(t.Context(), "IMAGES")
		return err == nil
	})
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publish sends ev to subject through JetStream with the given message id.
func (p *pipeline) publish(subject, msgID string, ev proto.Message) {
	p.t.Helper()
	data, err := protojson.Marshal(ev)
	if err != nil {
		p.t.Fatal(err)
	}
	_, err = p.js.Publish(p.t.Context(), subject, data, jetstream.WithMsgID(msgID))
	if err != nil {
		p.t.Fatal(err)
	}
}

// scan publishes refs as image.named under run and waits until each is
// matched and checked. It returns each ref's digest.
func (p *pipeline) scan(run string, refs ...string) map[string]string {
	p.t.Helper()
	for _, ref := range refs {
		ev := &crawlspacev1.ImageNamed{Ref: ref, RunId: run,
			NamedAt: timestamppb.New(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))}
		p.publish("image.named", "named:"+run+":"+ref, ev)
	}
	return p.wait(run, refs...)
}

// wait collects image.matched and image.checked for run until every ref has
// both, failing on a failure.recorded for one of them.
func (p *pipeline) wait(run string, refs ...string) map[string]string {
	p.t.Helper()
	digests := map[string]string{}
	seen := map[string]int{}
	timeout := time.After(5 * time.Minute)
	pending := func(r string) bool { return seen[r] < 2 }
	for slices.ContainsFunc(refs, pending) {
		select {
		case <-timeout:
			p.t.Fatalf("timed out waiting for %v (seen %v)", refs, seen)
		case m := <-p.events:
			var ev struct {
				Ref, RunID, Digest, Stage, Reason string
			}
			p.decode(m, &ev.Ref, &ev.RunID, &ev.Digest, &ev.Stage, &ev.Reason)
			if ev.RunID != run {
				continue
			}
			if m.Subject == "failure.recorded" {
				p.t.Fatalf("%s failed in %s: %s", ev.Ref, ev.Stage, ev.Reason)
			}
			seen[ev.Ref]++
			digests[ev.Ref] = ev.Digest
		}
	}
	return digests
}

func (p *pipeline) decode(m *nats.Msg, ref, run, digest, stage, reason *string) {
	switch m.Subject {
	case "image.matched":
		var ev crawlspacev1.ImageMatched
		must(p.t, protojson.Unmarshal(m.Data, &ev))
		*ref, *run, *digest = ev.Ref, ev.RunId, ev.Digest
	case "image.checked":
		var ev crawlspacev1.ImageChecked
		must(p.t, protojson.Unmarshal(m.Data, &ev))
		*ref, *run, *digest = ev.Ref, ev.RunId, ev.Digest
	default:
		var ev crawlspacev1.FailureRecorded
		must(p.t, protojson.Unmarshal(m.Data, &ev))
		*ref, *run, *stage, *reason = ev.Ref, ev.RunId, ev.Stage, ev.Reason
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// loadNotices runs `crawlspace notices load` on file against the pipeline.
func (p *pipeline) loadNotices(file string) {
	p.t.Helper()
	var out bytes.Buffer
	err := cli.Run(p.t.Context(), []string{"notices", "load", "--source", "dsa",
		"--pg-url", p.pgURL, "--nats-url", p.natsURL, "--log-level", "warn", file},
		os.Getenv, nil, &out, testWriter{p.t})
	if err != nil {
		p.t.Fatalf("notices load: %v\n%s", err, out.String())
	}
	p.t.Logf("notices load: %s", strings.TrimSpace(out.String()))
}

// strings runs query and returns each row's columns joined by spaces.
func (p *pipeline) rows(query string, args ...any) []string {
	p.t.Helper()
	rows, err := p.pool.Query(p.t.Context(), query, args...)
	if err != nil {
		p.t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			p.t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	return out
}

// fix is one (notice, source, fixed version) line of a DSA-format list.
type fix struct{ notice, source, version string }

// readFixes reads the [release] lines of a DSA-format list with a scan of
// its own, independent of the notices parser.
func readFixes(t *testing.T, file, release string) []fix {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fixes []fix
	var notice string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		switch {
		case len(fields) > 3 && strings.HasPrefix(s.Text(), "["):
			notice = fields[3]
		case len(fields) == 4 && fields[0] == "["+release+"]" && fields[1] == "-":
			fixes = append(fixes, fix{notice, fields[2], fields[3]})
		}
	}
	if len(fixes) == 0 {
		t.Fatalf("no [%s] lines in %s", release, file)
	}
	return fixes
}

// expectedFindings computes, with `dpkg --compare-versions`, which installed
// packages of pkgs (dpkgQuery lines) are older than a fix, as "package notice".
func expectedFindings(t *testing.T, pkgs []string, fixes []fix) []string {
	t.Helper()
	bySource := map[string][]fix{}
	for _, f := range fixes {
		bySource[f.source] = append(bySource[f.source], f)
	}
	var script strings.Builder
	var cand []string
	for _, p := range pkgs {
		f := strings.Fields(p) // name arch version source source-version
		for _, fx := range bySource[f[3]] {
			fmt.Fprintf(&script, "dpkg --compare-versions '%s' lt '%s' && echo y || echo n\n",
				f[4], fx.version)
			cand = append(cand, f[0]+" "+fx.notice)
		}
	}
	out, err := exec.Command("sh", "-c", script.String()).Output()
	if err != nil {
		t.Fatalf("dpkg --compare-versions: %v", err)
	}
	answers := strings.Fields(string(out))
	if len(answers) != len(cand) {
		t.Fatalf("dpkg gave %d answers for %d pairs", len(answers), len(cand))
	}
	var want []string
	for i, a := range answers {
		if a == "y" {
			want = append(want, cand[i])
		}
	}
	slices.Sort(want)
	return want
}

func TestPipeline(t *testing.T) {
	registry := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	images := ocitest.Env(t, "CRAWLSPACE_TEST_IMAGES")
	// The DSA list in the fixtures predates bookworm, so the notices here
	// are derived from the machine's own bookworm-security archive index by
	// scripts/derive-notices.sh: one DSA-format entry per source package and
	// version the security archive ships. They are not real DSAs.
	derived := ocitest.Env(t, "CRAWLSPACE_TEST_NOTICES")

	p := start(t, registry)
	p.loadNotices(derived)

	bookworm := registry + "/test/debian:bookworm"
	planted := registry + "/test/debian-ssh:planted"
	clean := registry + "/test/debian-ssh:clean"
	digests := p.scan("run1", bookworm, planted, clean)

	t.Run("packages equal dpkg-query", func(t *testing.T) {
		for ref, rootfs := range map[string]string{bookworm: "bookworm", planted: "bookworm-ssh"} {
			want := ocitest.InstalledPackages(t, filepath.Join(images, "rootfs", rootfs))
			got := p.rows(`SELECT name, arch, version, source_name, source_version
				FROM image_packages WHERE image_digest = $1 ORDER BY 1, 2`, digests[ref])
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s packages (-dpkg-query +crawlspace):\n%s", ref, diff)
			}
		}
	})

	t.Run("vulnerable packages equal dpkg --compare-versions", func(t *testing.T) {
		fixes := readFixes(t, derived, "bookworm")
		for ref, rootfs := range map[string]string{bookworm: "bookworm", planted: "bookworm-ssh"} {
			pkgs := ocitest.InstalledPackages(t, filepath.Join(images, "rootfs", rootfs))
			want := expectedFindings(t, pkgs, fixes)
			got := p.rows(`SELECT package, notice_id FROM findings
				WHERE image_digest = $1 AND resolved_at IS NULL ORDER BY 1, 2`, digests[ref])
			if len(want) == 0 {
				t.Fatalf("%s: the derived notices make no package vulnerable; the test "+
					"would prove nothing", ref)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s findings (-dpkg +crawlspace):\n%s", ref, diff)
			}
			t.Logf("%s: %d vulnerable packages, as dpkg says", ref, len(got))
		}
	})

	t.Run("rule results as planted", func(t *testing.T) {
		want := map[string][]string{
			bookworm: {"image-user-root pass", "password-empty pass",
				"ssh-permit-root-login not-applicable"},
			planted: {"image-user-root fail", "password-empty fail", "ssh-permit-root-login fail"},
			clean:   {"image-user-root pass", "password-empty pass", "ssh-permit-root-login pass"},
		}
		for ref, w := range want {
			got := p.rows(`SELECT rule_id, status FROM rule_results WHERE image_digest = $1
				AND rule_id IN ('image-user-root', 'password-empty', 'ssh-permit-root-login')
				ORDER BY 1`, digests[ref])
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("%s rule results (-want +got):\n%s", ref, diff)
			}
			if errs := p.rows(`SELECT rule_id, evidence FROM rule_results
				WHERE image_digest = $1 AND status = 'error'`, digests[ref]); len(errs) > 0 {
				t.Errorf("%s: rules in error: %v", ref, errs)
			}
		}
		// Without an SSH server no SSH rule applies, so none can fail.
		if got := p.rows(`SELECT rule_id, status FROM rule_results WHERE image_digest = $1
			AND category = 'ssh' AND status <> 'not-applicable'`, digests[bookworm]); len(got) > 0 {
			t.Errorf("SSH rules applied to an image without sshd: %v", got)
		}
	})

	t.Run("whiteout removes /etc/motd", func(t *testing.T) {
		for ref, want := range map[string]int{planted: 0, clean: 1} {
			got := p.rows(`SELECT path FROM image_files WHERE image_digest = $1
				AND path = '/etc/motd'`, digests[ref])
			if len(got) != want {
				t.Errorf("%s has %d /etc/motd, want %d", ref, len(got), want)
			}
		}
	})

	t.Run("rescan and redelivery change nothing", func(t *testing.T) {
		before := p.snapshot()
		// The same image by tag and by digest in one run: two names, one digest,
		// and each name still gets its own answer.
		byDigest := registry + "/test/debian@" + digests[bookworm]
		p.scan("run2", bookworm, byDigest, planted, clean)
		if diff := cmp.Diff(before, p.snapshot()); diff != "" {
			t.Errorf("second scan changed the database (-before +after):\n%s", diff)
		}
		// Deliver the crawled event again, as JetStream does after a lost ack.
		for _, ref := range []string{bookworm, planted} {
			ev := &crawlspacev1.ImageCrawled{Ref: ref, Digest: digests[ref], RunId: "run3"}
			p.publish("image.crawled", "redelivered:"+ref, ev)
		}
		p.wait("run3", bookworm, planted)
		if diff := cmp.Diff(before, p.snapshot()); diff != "" {
			t.Errorf("redelivery changed the database (-before +after):\n%s", diff)
		}
	})

	t.Run("a plain core publish, as nats pub sends, is scanned", func(t *testing.T) {
		// No run id and no message id: exactly what
		// nats pub image.named '{"ref":"..."}' sends.
		body := fmt.Sprintf(`{"ref":%q}`, clean)
		if err := p.nc.Publish("image.named", []byte(body)); err != nil {
			t.Fatal(err)
		}
		got := p.wait("", clean)
		if got[clean] != digests[clean] {
			t.Errorf("digest %s, want %s", got[clean], digests[clean])
		}
	})

	t.Run("bad messages are recorded and skipped", func(t *testing.T) {
		if _, err := p.js.Publish(t.Context(), "image.named", []byte(`{"ref": 42`)); err != nil {
			t.Fatal(err)
		}
		unreachable := "127.0.0.1:1/nowhere/image:1"
		p.publish("image.named", "named:run4:"+unreachable,
			&crawlspacev1.ImageNamed{Ref: unreachable, RunId: "run4"})
		p.scan("run5", bookworm)
		waitUntil(t, "two recorded failures", func() bool {
			return len(p.rows(`SELECT 1 FROM failures WHERE consumer = 'crawler'`)) == 2
		})
		got := p.rows(`SELECT ref, attempts FROM failures WHERE consumer = 'crawler'
			ORDER BY stream_seq`)
		want := []string{" 1", unreachable + " 2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
	})
}

// snapshot returns every stored row of the pipeline's tables. The scans in
// this test carry one fixed named_at, so even the tag history's last_seen
// must stay put.
func (p *pipeline) snapshot() map[string][]string {
	q := map[string]string{
		"images":             "SELECT * FROM images ORDER BY digest",
		"image_packages":     "SELECT * FROM image_packages ORDER BY 1, 2, 3, 4",
		"image_files":        "SELECT * FROM image_files ORDER BY 1, 2",
		"image_config_files": "SELECT * FROM image_config_files ORDER BY 1, 2",
		"image_layers":       "SELECT * FROM image_layers ORDER BY 1, 2",
		"layers":             "SELECT * FROM layers ORDER BY 1",
		"repositories":       "SELECT * FROM repositories ORDER BY 1",
		"tag_observations":   "SELECT * FROM tag_observations ORDER BY 1, 2, 4",
		"notices":            "SELECT * FROM notices ORDER BY 1",
		"affected":           "SELECT * FROM affected ORDER BY 1, 2, 3",
		"findings":           "SELECT * FROM findings ORDER BY 1, 2, 3",
		"rule_results":       "SELECT * FROM rule_results ORDER BY 1, 2",
		"failures":           "SELECT * FROM failures ORDER BY 1, 2, 3",
	}
	out := map[string][]string{}
	for table, query := range q {
		out[table] = p.rows(query)
	}
	return out
}

// TestNoticesAfterCrawl crawls first and loads the notices afterwards: the
// matcher's re-match on notice.parsed must reach the stored image and give
// the findings the crawl-after-notices order gives in TestPipeline, which is
// what dpkg --compare-versions says.
func TestNoticesAfterCrawl(t *testing.T) {
	registry := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	images := ocitest.Env(t, "CRAWLSPACE_TEST_IMAGES")
	derived := ocitest.Env(t, "CRAWLSPACE_TEST_NOTICES")
	p := start(t, registry)

	bookworm := registry + "/test/debian:bookworm"
	digest := p.scan("run1", bookworm)[bookworm]
	findings := `SELECT package, notice_id FROM findings
		WHERE image_digest = $1 AND resolved_at IS NULL ORDER BY 1, 2`
	if got := p.rows(findings, digest); len(got) != 0 {
		t.Fatalf("findings before any notice: %v", got)
	}

	p.loadNotices(derived)
	pkgs := ocitest.InstalledPackages(t, filepath.Join(images, "rootfs", "bookworm"))
	want := expectedFindings(t, pkgs, readFixes(t, derived, "bookworm"))
	if len(want) == 0 {
		t.Fatal("the derived notices make no package vulnerable; the test would prove nothing")
	}
	waitUntil(t, "findings from the notices", func() bool {
		return len(p.rows(findings, digest)) >= len(want)
	})
	if diff := cmp.Diff(want, p.rows(findings, digest)); diff != "" {
		t.Errorf("findings after a late notice load (-dpkg +crawlspace):\n%s", diff)
	}
	// Every finding was first seen after the crawl, when its notice came.
	late := p.rows(`SELECT f.package FROM findings f JOIN images i ON i.digest = f.image_digest
		WHERE f.image_digest = $1 AND f.first_seen < i.crawled_at`, digest)
	if len(late) > 0 {
		t.Errorf("findings first seen before the image was crawled: %v", late)
	}
}
