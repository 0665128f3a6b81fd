package matcher_test

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/matcher"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/store/storetest"
)

// env is one test's database, bus, stage and image.matched subscription.
type env struct {
	pool  *pgxpool.Pool
	bus   *bus.Bus
	stage *matcher.Stage
	sub   *nats.Subscription
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	sub, err := b.Conn().SubscribeSync(b.Subject(crawlspacev1.SubjectImageMatched))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st := matcher.New(pool, b, matcher.Options{Logger: log})
	return &env{pool: pool, bus: b, stage: st, sub: sub}
}

// pkg is one installed binary package and its source.
type pkg struct {
	name, version, arch, source, sourceVersion string
}

func (e *env) image(t *testing.T, digest, codename string, pkgs []pkg) {
	t.Helper()
	ctx := t.Context()
	_, err := e.pool.Exec(ctx, `
		INSERT INTO images (digest, config_digest, media_type, os_id, os_codename, release,
			config, first_seen, crawled_at)
		VALUES ($1, 'sha256:cfg', 'application/vnd.oci.image.manifest.v1+json', 'debian', $2,
			$2, '{}', now(), now())`, digest, codename)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, 0, len(pkgs))
	for _, p := range pkgs {
		arch := p.arch
		if arch == "" {
			arch = "amd64"
		}
		rows = append(rows,
			[]any{digest, "dpkg", p.name, p.version, arch, p.source, p.sourceVersion})
	}
	_, err = e.pool.CopyFrom(ctx, pgx.Identifier{"image_packages"},
		[]string{"image_digest", "ecosystem", "name", "version", "arch", "source_name",
			"source_version"}, pgx.CopyFromRows(rows))
	if err != nil {
		t.Fatal(err)
	}
}

// aff is one affected row of a notice.
type aff struct {
	release, pkg, fixed, status string
}

// notice stores (or replaces) a notice and its affected rows, as the
// notices stage would, and returns the event it would publish.
func (e *env) notice(t *testing.T, id, hash string, rows ...aff) *crawlspacev1.NoticeParsed {
	t.Helper()
	ctx := t.Context()
	_, err := e.pool.Exec(ctx, `
		INSERT INTO notices (id, source, cves, content_hash, updated_at)
		VALUES ($1, 'debian-dsa', '{CVE-2023-0001}', $2, now())
		ON CONFLICT (id) DO UPDATE SET content_hash = EXCLUDED.content_hash`, id, hash)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `DELETE FROM affected WHERE notice_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	ev := &crawlspacev1.NoticeParsed{Id: id, Source: "debian-dsa", ContentHash: hash}
	for _, r := range rows {
		_, err := e.pool.Exec(ctx, `
			INSERT INTO affected (notice_id, ecosystem, release, package, fixed_version, status)
			VALUES ($1, 'dpkg', $2, $3, $4, $5)`, id, r.release, r.pkg, r.fixed, r.status)
		if err != nil {
			t.Fatal(err)
		}
		ev.Affected = append(ev.Affected,
			&crawlspacev1.Affected{Release: r.release, Package: r.pkg})
	}
	return ev
}

func (e *env) crawled(t *testing.T, digest, runID string) error {
	t.Helper()
	ev := &crawlspacev1.ImageCrawled{Ref: "example.test/app:1", Digest: digest, RunId: runID}
	return e.stage.HandleCrawled(t.Context(), message(t, crawlspacev1.SubjectImageCrawled, ev))
}

func (e *env) parsed(t *testing.T, ev *crawlspacev1.NoticeParsed) error {
	t.Helper()
	return e.stage.HandleNotice(t.Context(), message(t, crawlspacev1.SubjectNoticeParsed, ev))
}

func message(t testing.TB, subject string, ev proto.Message) *bus.Message {
	t.Helper()
	data, err := protojson.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return &bus.Message{Subject: subject, Data: data, Attempt: 1}
}

// next returns the next image.matched event, failing after a few seconds.
func (e *env) next(t *testing.T) *crawlspacev1.ImageMatched {
	t.Helper()
	m, err := e.sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("wait for image.matched: %v", err)
	}
	var ev crawlspacev1.ImageMatched
	if err := bus.Decode(m.Data, &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}

// none fails if an image.matched event arrives soon.
func (e *env) none(t *testing.T) {
	t.Helper()
	m, err := e.sub.NextMsg(300 * time.Millisecond)
	if !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("unexpected image.matched: %s (err %v)", m.Data, err)
	}
}

// row is a findings row with its times as text, so that equality means
// byte-identical rows.
type row struct {
	Image, Package, Notice, Ecosystem, Source, Installed, Fixed, Release, Status, Comparator,
	FirstSeen, ResolvedAt string
}

func (e *env) findings(t *testing.T) []row {
	t.Helper()
	rows, err := e.pool.Query(t.Context(), `
		SELECT image_digest, package, notice_id, ecosystem, source_name, installed_version,
			fixed_version, release, status, comparator, first_seen::text,
			coalesce(resolved_at::text, '')
		FROM findings ORDER BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readStatus reads the installed packages of a dpkg status file.
func readStatus(t *testing.T, path string) []pkg {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []pkg
	for stanza := range strings.SplitSeq(string(data), "\n\n") {
		f := map[string]string{}
		for line := range strings.Lines(stanza) {
			k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), ": ")
			if ok && !strings.HasPrefix(k, " ") {
				f[k] = v
			}
		}
		if f["Package"] == "" || f["Status"] != "install ok installed" {
			continue
		}
		p := pkg{name: f["Package"], version: f["Version"], arch: f["Architecture"],
			source: f["Package"], sourceVersion: f["Version"]}
		if src := f["Source"]; src != "" {
			name, ver, hasVer := strings.Cut(src, " (")
			p.source = name
			if hasVer {
				p.sourceVersion = strings.TrimSuffix(ver, ")")
			}
		}
		out = append(out, p)
	}
	return out
}
