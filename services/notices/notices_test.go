package notices_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/notices"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/fixtures"
	"crawlspace.dev/services/platform/store/storetest"
)

// fixture returns the path of a Debian list in the shared real test data.
func fixture(t *testing.T, name string) string {
	t.Helper()
	return fixtures.Path(t, "notices/debian/"+name)
}

type env struct {
	pool *pgxpool.Pool
	bus  *bus.Bus
	// seen counts notice.parsed messages as published, before JetStream's
	// duplicate window can absorb a republished one.
	seen *atomic.Int64
}

// discard is a logger that drops everything, for benchmarks.
var discard = slog.New(slog.DiscardHandler)

func newEnv(t testing.TB) env {
	t.Helper()
	pool, _ := storetest.New(t)
	e := env{pool: pool, bus: bustest.New(t), seen: &atomic.Int64{}}
	sub, err := e.bus.Conn().Subscribe(e.bus.Subject("notice.parsed"), func(*nats.Msg) {
		e.seen.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return e
}

// sent returns how many notice.parsed messages were published, waiting
// until want arrived or a second passed, and then a little longer so that
// a surplus shows.
func (e env) sent(t testing.TB, want int64) int64 {
	t.Helper()
	if err := e.bus.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Second); e.seen.Load() < want &&
		time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	return e.seen.Load()
}

func (e env) stage(t *testing.T, opts notices.Options) *notices.Stage {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	return notices.New(e.pool, e.bus, opts)
}

// count runs a query returning one number.
func (e env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// noticeStream returns the stream that holds the bus's notice.parsed.
func (e env) noticeStream(t *testing.T) jetstream.Stream {
	t.Helper()
	js, err := jetstream.New(e.bus.Conn())
	if err != nil {
		t.Fatal(err)
	}
	name, err := js.StreamNameBySubject(t.Context(), e.bus.Subject("notice.parsed"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// published returns how many notice.parsed events the stream holds.
func (e env) published(t *testing.T) int {
	t.Helper()
	info, err := e.noticeStream(t).Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs)
}

// lastEvent returns the newest notice.parsed event.
func (e env) lastEvent(t *testing.T) *crawlspacev1.NoticeParsed {
	t.Helper()
	m, err := e.noticeStream(t).GetLastMsgForSubject(t.Context(), e.bus.Subject("notice.parsed"))
	if err != nil {
		t.Fatal(err)
	}
	ev := &crawlspacev1.NoticeParsed{}
	if err := bus.Decode(m.Data, ev); err != nil {
		t.Fatal(err)
	}
	if want := "notice:" + ev.Id + ":" + ev.ContentHash; m.Header.Get("Nats-Msg-Id") != want {
		t.Errorf("msg id %q, want %q", m.Header.Get("Nats-Msg-Id"), want)
	}
	return ev
}

func (e env) hash(t *testing.T, id string) string {
	t.Helper()
	var h string
	if err := e.pool.QueryRow(t.Context(), `SELECT content_hash FROM notices WHERE id = $1`,
		id).Scan(&h); err != nil {
		t.Fatalf("hash of %s: %v", id, err)
	}
	return h
}

// counts drops the duration from a result so that results compare.
func counts(r notices.Result) notices.Result {
	r.Duration = 0
	return r
}

func TestLoadDSAList(t *testing.T) {
	e := newEnv(t)
	st := e.stage(t, notices.Options{})
	path := fixture(t, "DSA-list")
	const total, suiteLines = 5406, 6988

	var firstMax time.Time
	t.Run("first load stores and publishes every notice", func(t *testing.T) {
		res, err := st.Load(t.Context(), "dsa", path)
		if err != nil {
			t.Fatal(err)
		}
		want := notices.Result{Parsed: total, New: total}
		if diff := cmp.Diff(want, counts(res)); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if got := e.count(t, `SELECT count(*) FROM notices`); got != total {
			t.Errorf("notices rows = %d, want %d", got, total)
		}
		if got := e.count(t, `SELECT count(*) FROM affected`); got != suiteLines {
			t.Errorf("affected rows = %d, want %d", got, suiteLines)
		}
		if got := e.published(t); got != total {
			t.Errorf("stream holds %d notice.parsed events, want %d", got, total)
		}
		if got := e.sent(t, total); got != total {
			t.Errorf("published %d notice.parsed events, want %d", got, total)
		}
		if ev := e.lastEvent(t); ev.Id != "DSA-135" || ev.ContentHash != e.hash(t, "DSA-135") {
			t.Errorf("last event %v, want DSA-135 with its stored hash", ev)
		}
		checkStored(t, e)
		if err := e.pool.QueryRow(t.Context(),
			`SELECT max(updated_at) FROM notices`).Scan(&firstMax); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("second load writes and publishes nothing", func(t *testing.T) {
		res, err := st.Load(t.Context(), "dsa", path)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(notices.Result{Parsed: total, Unchanged: total},
			counts(res)); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if got := e.count(t, `SELECT count(*) FROM notices WHERE updated_at > $1`,
			firstMax); got != 0 {
			t.Errorf("%d notices rewritten", got)
		}
		if got := e.published(t); got != total {
			t.Errorf("stream holds %d events, want still %d", got, total)
		}
		if got := e.sent(t, total); got != total {
			t.Errorf("published %d events in all, want still %d", got, total)
		}
	})

	t.Run("one changed notice is one write and one event", func(t *testing.T) {
		modified := modifiedCopy(t, path, "2:1.20.11-1+deb11u6", "2:1.20.11-1+deb11u7")
		res, err := st.Load(t.Context(), "dsa", modified)
		if err != nil {
			t.Fatal(err)
		}
		want := notices.Result{Parsed: total, Changed: 1, Unchanged: total - 1}
		if diff := cmp.Diff(want, counts(res)); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if got := e.published(t); got != total+1 {
			t.Errorf("stream holds %d events, want %d", got, total+1)
		}
		if got := e.sent(t, total+1); got != total+1 {
			t.Errorf("published %d events in all, want %d", got, total+1)
		}
		ev := e.lastEvent(t)
		wantAffected := []*crawlspacev1.Affected{{Release: "bullseye", Package: "xorg-server"}}
		if ev.Id != "DSA-5380-1" || ev.Source != "debian-dsa" ||
			ev.ContentHash != e.hash(t, "DSA-5380-1") ||
			!cmp.Equal(wantAffected, ev.Affected, cmp.Comparer(affectedEqual)) {
			t.Errorf("event %v, want DSA-5380-1 with its new hash", ev)
		}
		if got := e.count(t, `SELECT count(*) FROM notices WHERE updated_at > $1`,
			firstMax); got != 1 {
			t.Errorf("%d notices rewritten, want 1", got)
		}
		if got := e.count(t, `SELECT count(*) FROM affected WHERE notice_id = 'DSA-5380-1'
			AND fixed_version = '2:1.20.11-1+deb11u7'`); got != 1 {
			t.Error("DSA-5380-1's new fixed version is not stored")
		}
	})
}

func affectedEqual(a, b *crawlspacev1.Affected) bool {
	return a.GetRelease() == b.GetRelease() && a.GetPackage() == b.GetPackage()
}

// checkStored compares stored rows of a few notices with the list.
func checkStored(t *testing.T, e env) {
	t.Helper()
	type row struct {
		ID, Source, Title, URL string
		Published              time.Time
		CVEs                   []string
	}
	var got row
	err := e.pool.QueryRow(t.Context(), `SELECT id, source, title, url, published, cves
		FROM notices WHERE id = 'DSA-5380-1'`).Scan(
		&got.ID, &got.Source, &got.Title, &got.URL, &got.Published, &got.CVEs)
	if err != nil {
		t.Fatal(err)
	}
	want := row{
		ID: "DSA-5380-1", Source: "debian-dsa", Title: "security update",
		URL:       "https://security-tracker.debian.org/tracker/DSA-5380-1",
		Published: time.Date(2023, 3, 29, 0, 0, 0, 0, time.UTC), CVEs: []string{"CVE-2023-1393"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DSA-5380-1 row (-want +got):\n%s", diff)
	}

	tests := []struct {
		id, release, pkg, version, status string
	}{
		{"DSA-5380-1", "bullseye", "xorg-server", "2:1.20.11-1+deb11u6", "fixed"},
		{"DSA-5288-1", "bullseye", "graphicsmagick", "1.4+really1.3.36+hg16481-2+deb11u1",
			"fixed"},
		{"DSA-5374-1", "bullseye", "firefox-esr", "102.9.0esr-1~deb11u1", "fixed"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			var version, status, eco string
			err := e.pool.QueryRow(t.Context(), `SELECT fixed_version, status, ecosystem
				FROM affected WHERE notice_id = $1 AND release = $2 AND package = $3`,
				tt.id, tt.release, tt.pkg).Scan(&version, &status, &eco)
			if err != nil {
				t.Fatal(err)
			}
			if version != tt.version || status != tt.status || eco != "dpkg" {
				t.Errorf("%s %s = %s %s %s, want dpkg %s %s", tt.id, tt.pkg, eco, version,
					status, tt.version, tt.status)
			}
		})
	}
	if got := e.count(t, `SELECT count(*) FROM affected WHERE status = 'not-affected'
		AND fixed_version = ''`); got != 55 {
		t.Errorf("%d not-affected rows without version, want 55", got)
	}
	if got := e.count(t, `SELECT count(*) FROM notices n WHERE NOT EXISTS
		(SELECT 1 FROM affected a WHERE a.notice_id = n.id)`); got != 23 {
		t.Errorf("%d notices without affected rows, want the 23 announcements", got)
	}
}

// modifiedCopy writes path with one occurrence of old replaced by new.
func modifiedCopy(t *testing.T, path, old, new string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(data, []byte(old)) != 1 {
		t.Fatalf("%q does not occur once in %s", old, path)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	data = bytes.Replace(data, []byte(old), []byte(new), 1)
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadHTTP(t *testing.T) {
	data, err := os.ReadFile(fixture(t, "DLA-list"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/DLA-list":
			_, _ = w.Write(data)
		case "/broken":
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t)
	st := e.stage(t, notices.Options{Attempts: 2, Backoff: time.Millisecond, PerHost: 1000})

	// The failing cases run first: each must leave the database empty.
	tests := []struct {
		name    string
		url     string
		wantErr string
		parsed  int
	}{
		{"server error", srv.URL + "/broken", "500", 0},
		{"not found", srv.URL + "/missing", "404", 0},
		{"no server", "http://127.0.0.1:1/DLA-list", "fetch", 0},
		{"list", srv.URL + "/DLA-list?token=secret", "", 3534},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := st.Load(t.Context(), "dsa", tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load = %v, want an error with %q", err, tt.wantErr)
				}
				if got := e.count(t, `SELECT count(*) FROM notices`); got != 0 {
					t.Errorf("%d notices stored after a failed fetch", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Parsed != tt.parsed || res.New != tt.parsed {
				t.Errorf("result %v, want %d parsed and new", res, tt.parsed)
			}
			q := `SELECT count(*) FROM notices WHERE source = 'debian-dla'`
			if got := e.count(t, q); got != tt.parsed {
				t.Errorf("%d debian-dla notices stored, want %d", got, tt.parsed)
			}
			if got := e.published(t); got != tt.parsed {
				t.Errorf("published %d events, want %d", got, tt.parsed)
			}
		})
	}
}

func TestLoadSkipsMalformed(t *testing.T) {
	list := "[29 Mar 2023] DSA-5380-1 xorg-server - security update\n" +
		"\t{CVE-2023-1393}\n\t[bullseye] - xorg-server 2:1.20.11-1+deb11u6\n" +
		"[28 Mar 2023] DSA-5379-1 broken - security update\n\t[bullseye] - broken\n" +
		"[27 Mar 2023] DSA-5378-1 x - security update\n\t[bullseye] - x <postponed>\n" +
		"[26 Mar 2023] DSA-5377-1 y - security update\n\t[bullseye] - y 1.0-1\n"
	path := filepath.Join(t.TempDir(), "list")
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	e := newEnv(t)
	log := slog.New(slog.NewTextHandler(&logs, nil))
	st := e.stage(t, notices.Options{BatchSize: 2, Logger: log})

	res, err := st.Load(t.Context(), "dsa", path)
	if err != nil {
		t.Fatal(err)
	}
	want := notices.Result{Parsed: 3, New: 3, Malformed: 1, Undetermined: 1}
	if diff := cmp.Diff(want, counts(res)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if got := e.count(t, `SELECT count(*) FROM notices WHERE id <> 'DSA-5379-1'`); got != 3 {
		t.Errorf("%d notices stored, want 3", got)
	}
	if got := e.count(t, `SELECT count(*) FROM affected WHERE status = 'undetermined'`); got != 1 {
		t.Errorf("%d undetermined rows, want 1", got)
	}
	out := logs.String()
	for _, s := range []string{"malformed notice skipped", "line 5", "notices synced",
		"malformed=1"} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %q:\n%s", s, out)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	e := newEnv(t)
	st := e.stage(t, notices.Options{})
	tests := []struct {
		name, source, location string
		is                     error
	}{
		{"unknown source", "usn", fixture(t, "DSA-list"), notices.ErrUnknownSource},
		{"missing file", "dsa", filepath.Join(t.TempDir(), "none"), os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := st.Load(t.Context(), tt.source, tt.location); !errors.Is(err, tt.is) {
				t.Errorf("Load = %v, want %v", err, tt.is)
			}
		})
	}
}

// TestLoadPublishFailure checks that the events of notices stored by a
// load whose publish failed are kept, and sent by the next load.
func TestLoadPublishFailure(t *testing.T) {
	e := newEnv(t)
	path := fixture(t, "DSA-list.edgecases")
	e.bus.Conn().Close()
	if _, err := e.stage(t, notices.Options{}).Load(t.Context(), "dsa", path); err == nil {
		t.Fatal("Load with a closed NATS connection succeeded")
	}
	stored := e.count(t, `SELECT count(*) FROM notices`)
	kept := e.count(t, `SELECT count(*) FROM outbox`)
	if stored == 0 || kept == 0 {
		t.Fatalf("%d notices stored and %d batches of events kept; want both", stored, kept)
	}

	e.bus = bustest.New(t)
	res, err := e.stage(t, notices.Options{}).Load(t.Context(), "dsa", path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged != stored || res.New != res.Parsed-stored || e.published(t) != res.Parsed {
		t.Errorf("retry %v published %d, want %d unchanged and every notice published",
			res, e.published(t), stored)
	}
	if left := e.count(t, `SELECT count(*) FROM outbox`); left != 0 {
		t.Errorf("%d batches left in the outbox", left)
	}
}

func TestRun(t *testing.T) {
	data, err := os.ReadFile(fixture(t, "DSA-list.edgecases"))
	if err != nil {
		t.Fatal(err)
	}
	var good, bad atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/list" {
			good.Add(1)
			_, _ = w.Write(data)
			return
		}
		bad.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)

	var logs syncBuffer
	e := newEnv(t)
	st := e.stage(t, notices.Options{
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Interval: 20 * time.Millisecond,
		Attempts: 1,
		PerHost:  1000,
		Sources: []notices.Source{
			{Source: "dsa", Location: srv.URL + "/down"},
			{Source: "dsa", Location: srv.URL + "/list"},
		},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()

	deadline := time.Now().Add(10 * time.Second)
	for good.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil on cancellation", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if good.Load() < 3 || bad.Load() < 2 {
		t.Errorf("served the list %d times and the failing location %d; want rounds to repeat",
			good.Load(), bad.Load())
	}
	if got := e.count(t, `SELECT count(*) FROM notices`); got != 10 {
		t.Errorf("%d notices stored, want the 10 of the edge cases", got)
	}
	if got := e.published(t); got != 10 {
		t.Errorf("published %d events over the rounds, want 10", got)
	}
	if out := logs.String(); !strings.Contains(out, "notice sync failed") ||
		!strings.Contains(out, "502") {
		t.Errorf("log lacks the failed load:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
