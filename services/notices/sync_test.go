package notices_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/notices"
	"crawlspace.dev/services/platform/fixtures"
)

// TestSyncDirectories syncs every source offline from the fixture
// directories, twice: the second sync must write and publish nothing.
func TestSyncDirectories(t *testing.T) {
	tests := []struct {
		source, dir string
		parsed      int
	}{
		{"debian-tracker", "notices/debian/tracker-json", 16},
		{"alpine-secdb", "notices/alpine/secdb-yaml", 4265},
		{"osv-go", "notices/osv/go", 200},
		{"osv-pypi", "notices/osv/pypi-pysec-yaml", 155},
		{"osv-ghsa", "notices/osv/ghsa", 22},
		{"ubuntu-usn", "notices/ubuntu/usn-db", 1},
		{"ubuntu-cve", "notices/ubuntu/osv-cve", 11},
		{"alma", "notices/redhat/alma", 9},
		{"rocky", "notices/redhat/rocky/osv", 3},
		{"centos-cefs", "notices/redhat/centos", 1},
		{"rhel-csaf", "notices/redhat/rhel/csaf", 1},
	}
	e := newEnv(t)
	st := e.stage(t, notices.Options{})
	total := 0
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			res, err := st.Sync(t.Context(), tt.source, fixtures.Path(t, tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			if res.Parsed != tt.parsed || res.Malformed != 0 {
				t.Errorf("first sync %v, want %d parsed and none malformed", res, tt.parsed)
			}
			total += res.New
			if got := e.count(t, `SELECT count(*) FROM notices WHERE source = $1`,
				tt.source); got != res.New {
				t.Errorf("%d %s notices stored, want %d", got, tt.source, res.New)
			}
			again, err := st.Sync(t.Context(), tt.source, fixtures.Path(t, tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			if again.New+again.Changed != 0 {
				t.Errorf("second sync %v, want nothing new or changed", again)
			}
		})
	}
	if got := e.published(t); got != total {
		t.Errorf("published %d events, want one per new notice, %d", got, total)
	}
	var ranges string
	if err := e.pool.QueryRow(t.Context(), `SELECT ranges::text FROM affected
		WHERE notice_id = 'GO-2020-0001'`).Scan(&ranges); err != nil {
		t.Fatal(err)
	}
	want := `[{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.6.0"}]}]`
	if ranges != want {
		t.Errorf("GO-2020-0001 ranges %s, want %s", ranges, want)
	}
}

// feedServer serves the DSA list with an ETag, answering
// If-None-Match with 304; the first requests of /flaky fail with 429 and
// Retry-After, a truncated body and a 500, in turn.
type feedServer struct {
	data     []byte
	requests atomic.Int32
	flaky    atomic.Int32
	cond     atomic.Int32
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	const etag = `"dsa-1"`
	if r.URL.Path == "/flaky" {
		switch s.flaky.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		case 2:
			w.Header().Set("Content-Length", strconv.Itoa(len(s.data)))
			_, _ = w.Write(s.data[:len(s.data)/2])
			return // the server closes a response shorter than its length
		case 3:
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
	}
	if r.URL.Path == "/down" {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == "/gone" {
		http.Error(w, "gone", http.StatusGone)
		return
	}
	if r.Header.Get("If-None-Match") == etag {
		s.cond.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", "Wed, 29 Mar 2023 00:00:00 GMT")
	_, _ = w.Write(s.data)
}

func TestSyncHTTP(t *testing.T) {
	data, err := os.ReadFile(fixture(t, "DSA-list"))
	if err != nil {
		t.Fatal(err)
	}
	fs := &feedServer{data: data}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	e := newEnv(t)
	st := e.stage(t, notices.Options{Attempts: 4, Backoff: 10 * time.Millisecond,
		PerHost: 1000})

	t.Run("retries 429, a truncated body and a 500", func(t *testing.T) {
		start := time.Now()
		res, err := st.Sync(t.Context(), "debian-dsa", srv.URL+"/flaky")
		if err != nil {
			t.Fatal(err)
		}
		if res.New != 5406 || fs.flaky.Load() != 4 {
			t.Errorf("result %v after %d requests, want 5406 new after 4", res,
				fs.flaky.Load())
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("sync took %s, want Retry-After's second honoured", d)
		}
	})

	t.Run("unchanged feed is not fetched again", func(t *testing.T) {
		res, err := st.Sync(t.Context(), "debian-dsa", srv.URL+"/flaky")
		if err != nil {
			t.Fatal(err)
		}
		want := notices.Result{NotModified: 1}
		if diff := cmp.Diff(want, counts(res)); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if fs.cond.Load() != 1 || e.published(t) != 5406 {
			t.Errorf("%d conditional answers, %d events; want 1 and 5406", fs.cond.Load(),
				e.published(t))
		}
		var cursors int
		if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM notice_cursors
			WHERE etag = '"dsa-1"' AND last_modified <> ''`).Scan(&cursors); err != nil {
			t.Fatal(err)
		}
		if cursors != 1 {
			t.Errorf("%d cursors stored, want 1", cursors)
		}
	})

	t.Run("client errors are not retried", func(t *testing.T) {
		before := fs.requests.Load()
		if _, err := st.Sync(t.Context(), "debian-dsa", srv.URL+"/gone"); err == nil {
			t.Fatal("sync of a 410 succeeded")
		}
		if n := fs.requests.Load() - before; n != 1 {
			t.Errorf("%d requests for a 410, want 1", n)
		}
	})

	t.Run("retries give up", func(t *testing.T) {
		before := fs.requests.Load()
		if _, err := st.Sync(t.Context(), "debian-dsa", srv.URL+"/down"); err == nil {
			t.Fatal("sync of a 503 succeeded")
		}
		if n := fs.requests.Load() - before; n != 4 {
			t.Errorf("%d requests for a 503, want the 4 attempts", n)
		}
	})
}

func TestRetryAfterDate(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			at := time.Now().Add(time.Second).UTC()
			w.Header().Set("Retry-After", at.Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("[01 Jan 2020] DSA-1-1 x - security update\n\t[sid] - x 1.0\n"))
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t)
	res, err := e.stage(t, notices.Options{Backoff: time.Millisecond, PerHost: 1000}).Sync(
		t.Context(), "dsa", srv.URL)
	if err != nil || res.New != 1 || calls.Load() != 2 {
		t.Errorf("Sync = %v, %v after %d calls", res, err, calls.Load())
	}
}
