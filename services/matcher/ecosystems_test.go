package matcher_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
)

// epkg is an installed package of any ecosystem.
type epkg struct {
	ecosystem, name, version, source, sourceVersion string
}

// imageOS stores an image of the given OS and release with pkgs.
func (e *env) imageOS(t *testing.T, digest, osID, release string, pkgs []epkg) {
	t.Helper()
	ctx := t.Context()
	_, err := e.pool.Exec(ctx, `
		INSERT INTO images (digest, config_digest, media_type, os_id, os_version_id, release,
			config, first_seen, crawled_at)
		VALUES ($1, 'sha256:cfg', 'application/vnd.oci.image.manifest.v1+json', $2, '1', $3,
			'{}', now(), now())`, digest, osID, release)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, 0, len(pkgs))
	for _, p := range pkgs {
		rows = append(rows, []any{digest, p.ecosystem, p.name, p.version, "x86_64", p.source,
			p.sourceVersion})
	}
	_, err = e.pool.CopyFrom(ctx, pgx.Identifier{"image_packages"},
		[]string{"image_digest", "ecosystem", "name", "version", "arch", "source_name",
			"source_version"}, pgx.CopyFromRows(rows))
	if err != nil {
		t.Fatal(err)
	}
}

// eaff is an affected row of any ecosystem, with optional OSV ranges.
type eaff struct {
	ecosystem, release, pkg, fixed, status string
	ranges                                 any
}

// noticeEco stores a notice with rows and returns its notice.parsed event.
func (e *env) noticeEco(t *testing.T, id string, rows ...eaff) *crawlspacev1.NoticeParsed {
	t.Helper()
	ctx := t.Context()
	_, err := e.pool.Exec(ctx, `
		INSERT INTO notices (id, source, content_hash, updated_at)
		VALUES ($1, 'osv', 'h1', now())`, id)
	if err != nil {
		t.Fatal(err)
	}
	ev := &crawlspacev1.NoticeParsed{Id: id, Source: "osv", ContentHash: "h1"}
	for _, r := range rows {
		ranges := []byte("[]")
		if r.ranges != nil {
			if ranges, err = json.Marshal(r.ranges); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.pool.Exec(ctx, `
			INSERT INTO affected (notice_id, ecosystem, release, package, fixed_version,
				status, ranges)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, r.ecosystem, r.release, r.pkg, r.fixed, r.status, ranges)
		if err != nil {
			t.Fatal(err)
		}
		ev.Affected = append(ev.Affected,
			&crawlspacev1.Affected{Release: r.release, Package: r.pkg})
	}
	return ev
}

func (e *env) status(t *testing.T, digest string) (string, string) {
	t.Helper()
	var status, reason string
	err := e.pool.QueryRow(t.Context(),
		`SELECT status, reason FROM image_match_status WHERE image_digest = $1`,
		digest).Scan(&status, &reason)
	if err != nil {
		t.Fatal(err)
	}
	return status, reason
}

const (
	rocky  = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	alpine = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
)

// ecoImages are a Rocky 9 image with a Python package and an Alpine image.
func ecoImages(t *testing.T, e *env) {
	t.Helper()
	e.imageOS(t, rocky, "rocky", "el9", []epkg{
		{"rpm", "openssl-libs", "1:3.0.7-24.el9", "openssl", "1:3.0.7-24.el9"},
		{"rpm", "vim-minimal", "2:8.2.2637-20.el9_1", "vim", "2:8.2.2637-20.el9_1"},
		{"pypi", "requests", "2.31.0", "requests", "2.31.0"},
	})
	e.imageOS(t, alpine, "alpine", "v3.11", []epkg{
		{"apk", "busybox", "1.31.1-r9", "busybox", "1.31.1-r9"},
		{"apk", "musl", "1.1.24-r2", "musl", "1.1.24-r2"},
	})
}

// ecoNotices are notices for rpm, apk and pypi, fixed and by range.
func ecoNotices(t *testing.T, e *env) []*crawlspacev1.NoticeParsed {
	t.Helper()
	pyRange := []map[string]any{{"type": "ECOSYSTEM", "events": []map[string]string{
		{"introduced": "2.3.0"}, {"fixed": "2.32.0"}}}}
	return []*crawlspacev1.NoticeParsed{
		e.noticeEco(t, "RLSA-2024:0001",
			eaff{"rpm", "el9", "openssl", "1:3.0.7-25.el9_3", "fixed", nil},
			eaff{"rpm", "el8", "openssl", "1:1.1.1k-12.el8_9", "fixed", nil}),
		e.noticeEco(t, "RLSA-2024:0002",
			eaff{"rpm", "el9", "vim", "2:8.2.2637-20.el9_1", "fixed", nil}),
		e.noticeEco(t, "ALPINE-CVE-2022-28391",
			eaff{"apk", "v3.11", "busybox", "1.31.1-r10", "fixed", nil}),
		e.noticeEco(t, "ALPINE-CVE-2020-28928",
			eaff{"apk", "v3.11", "musl", "1.1.24-r3", "fixed", nil}),
		e.noticeEco(t, "PYSEC-2023-74",
			eaff{"pypi", "", "requests", "2.32.0", "fixed", pyRange}),
	}
}

// TestEcosystemsOrderIndependent matches rpm, apk and pypi packages with
// notices stored before the crawl and with notices arriving after it, and
// checks that both orders give the same findings.
func TestEcosystemsOrderIndependent(t *testing.T) {
	before := newEnv(t)
	ecoNotices(t, before)
	ecoImages(t, before)
	for _, d := range []string{rocky, alpine} {
		if err := before.crawled(t, d, "run-1"); err != nil {
			t.Fatal(err)
		}
	}

	after := newEnv(t)
	ecoImages(t, after)
	for _, d := range []string{rocky, alpine} {
		if err := after.crawled(t, d, "run-1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range ecoNotices(t, after) {
		if err := after.parsed(t, ev); err != nil {
			t.Fatal(err)
		}
	}

	type short struct{ Image, Package, Notice, Ecosystem, Installed, Fixed, Comparator string }
	shorten := func(rows []row) []short {
		var out []short
		for _, r := range rows {
			out = append(out, short{r.Image[:12], r.Package, r.Notice, r.Ecosystem,
				r.Installed, r.Fixed, r.Comparator})
		}
		return out
	}
	want := []short{
		{rocky[:12], "openssl-libs", "RLSA-2024:0001", "rpm", "1:3.0.7-24.el9",
			"1:3.0.7-25.el9_3", "rpm"},
		{rocky[:12], "requests", "PYSEC-2023-74", "pypi", "2.31.0", "2.32.0", "pep440"},
		{alpine[:12], "busybox", "ALPINE-CVE-2022-28391", "apk", "1.31.1-r9", "1.31.1-r10",
			"apk"},
		{alpine[:12], "musl", "ALPINE-CVE-2020-28928", "apk", "1.1.24-r2", "1.1.24-r3", "apk"},
	}
	sorted := cmp.Transformer("sort", func(in []short) map[short]bool {
		m := map[short]bool{}
		for _, s := range in {
			m[s] = true
		}
		return m
	})
	if d := cmp.Diff(want, shorten(before.findings(t)), sorted); d != "" {
		t.Errorf("notices before crawl (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, shorten(after.findings(t)), sorted); d != "" {
		t.Errorf("notices after crawl (-want +got):\n%s", d)
	}
	if s, _ := after.status(t, alpine); s != "matched" {
		t.Errorf("alpine status after its feed arrived = %q, want matched", s)
	}
}

// TestMatchStatus records why an image's distribution packages were not
// matched, while its language packages still are.
func TestMatchStatus(t *testing.T) {
	e := newEnv(t)
	e.noticeEco(t, "PYSEC-1", eaff{"pypi", "", "jinja2", "3.1.3", "fixed", nil})
	e.noticeEco(t, "DSA-1", eaff{"dpkg", "bookworm", "apr", "1.7.2-3+deb12u1", "fixed", nil})
	e.imageOS(t, bullseye, "distroless", "", []epkg{
		{"dpkg", "libapr1", "1.7.0-6", "apr", "1.7.0-6"},
		{"pypi", "jinja2", "3.0.0", "jinja2", "3.0.0"},
	})
	e.imageOS(t, bionic, "alpine", "v3.19", []epkg{{"apk", "musl", "1.2.4-r2", "musl",
		"1.2.4-r2"}})
	for _, d := range []string{bullseye, bionic} {
		if err := e.crawled(t, d, "run-1"); err != nil {
			t.Fatal(err)
		}
	}
	if s, reason := e.status(t, bullseye); s != "no-release" || reason == "" {
		t.Errorf("distroless status %q %q, want no-release with a reason", s, reason)
	}
	if s, reason := e.status(t, bionic); s != "no-feed" || reason == "" {
		t.Errorf("alpine v3.19 status %q %q, want no-feed with a reason", s, reason)
	}
	rows := e.findings(t)
	if len(rows) != 1 || rows[0].Package != "jinja2" || rows[0].Comparator != "pep440" {
		t.Errorf("findings = %+v, want only jinja2", rows)
	}
}
