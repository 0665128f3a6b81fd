package matcher_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/matcher"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/fixtures"
	"crawlspace.dev/services/platform/store/storetest"
)

// debianRows reads every fixed suite line of the DSA and DLA lists as an
// affected row: "[buster] - curl 7.64.0-4+deb10u2" under "DLA-1-1 ...".
func debianRows(tb testing.TB) []matcher.Affected {
	tb.Helper()
	var rows []matcher.Affected
	seen := map[[3]string]bool{}
	for _, rel := range []string{"notices/debian/DSA-list", "notices/debian/DLA-list"} {
		data, err := os.ReadFile(fixtures.Path(tb, rel))
		if err != nil {
			tb.Fatal(err)
		}
		var id string
		for line := range strings.Lines(string(data)) {
			f := strings.Fields(line)
			if strings.HasPrefix(line, "[") && len(f) > 3 {
				id = f[3]
				continue
			}
			if len(f) < 4 || !strings.HasPrefix(f[0], "[") || f[1] != "-" ||
				f[3][0] < '0' || f[3][0] > '9' {
				continue
			}
			release := strings.Trim(f[0], "[]")
			if k := [3]string{id, release, f[2]}; !seen[k] {
				seen[k] = true
				rows = append(rows, matcher.Affected{NoticeID: id, Ecosystem: "dpkg",
					Release: release, Package: f[2], FixedVersion: f[3], Status: "fixed"})
			}
		}
	}
	return rows
}

// debianImage returns a 500-package image of release built from the
// sources the rows name, each installed at its oldest fixed version, so
// that later notices find it vulnerable.
func debianImage(tb testing.TB, rows []matcher.Affected, release string) []matcher.Package {
	tb.Helper()
	var pkgs []matcher.Package
	have := map[string]bool{}
	for i := len(rows) - 1; i >= 0 && len(pkgs) < 500; i-- {
		a := rows[i]
		if a.Release != release || have[a.Package] {
			continue
		}
		have[a.Package] = true
		pkgs = append(pkgs, matcher.Package{Ecosystem: "dpkg", Name: "lib" + a.Package,
			SourceName: a.Package, SourceVersion: a.FixedVersion})
	}
	if len(pkgs) < 500 {
		tb.Fatalf("only %d packages for %s", len(pkgs), release)
	}
	return pkgs
}

// BenchmarkMatchImage matches one 500-package stretch image against every
// Debian notice in the fixtures (DSA and DLA), in memory.
func BenchmarkMatchImage(b *testing.B) {
	rows := debianRows(b)
	pkgs := debianImage(b, rows, "stretch")
	idx := matcher.NewIndex(rows)
	var n int
	for b.Loop() {
		got, _ := matcher.Match("stretch", pkgs, idx)
		n = len(got)
	}
	b.ReportMetric(float64(n), "findings")
	b.ReportMetric(float64(len(rows)), "affected_rows")
}

// BenchmarkMatchImageDB matches the same image through PostgreSQL, as
// image.crawled does, with every Debian notice stored.
func BenchmarkMatchImageDB(b *testing.B) {
	pool, _ := storetest.New(b)
	rows := debianRows(b)
	seedNotices(b, pool, rows)
	pkgs := debianImage(b, rows, "stretch")
	const digest = "sha256:bench"
	seedImages(b, pool, []string{digest}, "stretch", pkgs)
	st := matcher.New(pool, bustest.New(b), matcher.Options{Logger: quiet()})
	for b.Loop() {
		// Each loop resolves nothing and adds nothing after the first: the
		// cost measured is reading, deciding and diffing.
		if err := st.HandleCrawled(b.Context(), message(b, crawlspacev1.SubjectImageCrawled,
			&crawlspacev1.ImageCrawled{Digest: digest, RunId: "bench"})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRematchNotice stores 10,000 bookworm images of 20 packages, one
// of them openssl, and measures HandleNotice for a new openssl notice that
// affects every image.
func BenchmarkRematchNotice(b *testing.B) {
	pool, _ := storetest.New(b)
	const images = 10000
	digests := make([]string, images)
	for i := range digests {
		digests[i] = fmt.Sprintf("sha256:%064d", i)
	}
	var pkgs []matcher.Package
	for i := range 19 {
		src := fmt.Sprintf("src%d", i)
		pkgs = append(pkgs, matcher.Package{Ecosystem: "dpkg", Name: "lib" + src,
			SourceName: src, SourceVersion: "1.0-1"})
	}
	pkgs = append(pkgs, matcher.Package{Ecosystem: "dpkg", Name: "libssl3",
		SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u1"})
	seedImages(b, pool, digests, "bookworm", pkgs)
	bs := bustest.New(b)
	st := matcher.New(pool, bs, matcher.Options{Logger: quiet()})
	n := 0
	for b.Loop() {
		b.StopTimer()
		id := fmt.Sprintf("DSA-%d-1", 9000+n)
		n++
		seedNotices(b, pool, []matcher.Affected{{NoticeID: id, Ecosystem: "dpkg",
			Release: "bookworm", Package: "openssl", FixedVersion: "3.0.13-1~deb12u1",
			Status: "fixed"}})
		ev := &crawlspacev1.NoticeParsed{Id: id, ContentHash: "h",
			Affected: []*crawlspacev1.Affected{{Release: "bookworm", Package: "openssl"}}}
		b.StartTimer()
		if err := st.HandleNotice(b.Context(),
			message(b, crawlspacev1.SubjectNoticeParsed, ev)); err != nil {
			b.Fatal(err)
		}
	}
	// HandleNotice returns once every event is acknowledged.
	if got := bustest.Stored(b, bs, crawlspacev1.SubjectImageMatched); got != uint64(images*n) {
		b.Fatalf("%d image.matched events after %d notices, want %d", got, n, images*n)
	}
	var open int
	err := pool.QueryRow(b.Context(),
		`SELECT count(*) FROM findings WHERE resolved_at IS NULL`).Scan(&open)
	if err != nil || open != images*n {
		b.Fatalf("%d open findings after %d notices, want %d (%v)", open, n, images*n, err)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// seedNotices stores notices and affected rows with COPY.
func seedNotices(tb testing.TB, pool *pgxpool.Pool, rows []matcher.Affected) {
	tb.Helper()
	ctx := tb.Context()
	ids := map[string]bool{}
	var notices, affected [][]any
	now := time.Now()
	for _, a := range rows {
		if !ids[a.NoticeID] {
			ids[a.NoticeID] = true
			notices = append(notices, []any{a.NoticeID, "debian-dsa", "h", now})
		}
		affected = append(affected, []any{a.NoticeID, a.Ecosystem, a.Release, a.Package,
			a.FixedVersion, a.Status})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"notices"},
		[]string{"id", "source", "content_hash", "updated_at"},
		pgx.CopyFromRows(notices)); err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"affected"},
		[]string{"notice_id", "ecosystem", "release", "package", "fixed_version", "status"},
		pgx.CopyFromRows(affected)); err != nil {
		tb.Fatal(err)
	}
}

// seedImages stores images of one release, each with pkgs, with COPY.
func seedImages(tb testing.TB, pool *pgxpool.Pool, digests []string, release string,
	pkgs []matcher.Package) {
	tb.Helper()
	ctx := tb.Context()
	now := time.Now()
	var imgs, ps [][]any
	for _, d := range digests {
		imgs = append(imgs, []any{d, "sha256:cfg", "m", "debian", release, release, "{}",
			now, now})
		for _, p := range pkgs {
			ps = append(ps, []any{d, p.Ecosystem, p.Name, p.SourceVersion, "amd64",
				p.SourceName, p.SourceVersion})
		}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"images"},
		[]string{"digest", "config_digest", "media_type", "os_id", "os_codename", "release",
			"config", "first_seen", "crawled_at"}, pgx.CopyFromRows(imgs)); err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"image_packages"},
		[]string{"image_digest", "ecosystem", "name", "version", "arch", "source_name",
			"source_version"}, pgx.CopyFromRows(ps)); err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}
