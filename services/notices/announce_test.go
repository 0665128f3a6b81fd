package notices_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/notices"
)

// The archive pages are the constructed ones of announce/testdata (no real
// page is in the shared fixtures; its README says what they hold).
const archives = "announce/testdata"

// TestSyncArchiveDirectories syncs both archives offline, twice.
func TestSyncArchiveDirectories(t *testing.T) {
	tests := []struct {
		source, dir       string
		parsed, malformed int
	}{
		{"debian-announce", "debian-security-announce", 3, 1},
		{"centos-announce", "centos-announce", 2, 1},
	}
	e := newEnv(t)
	st := e.stage(t, notices.Options{})
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			dir := filepath.Join(archives, tt.dir)
			res, err := st.Sync(t.Context(), tt.source, dir)
			if err != nil {
				t.Fatal(err)
			}
			want := notices.Result{Parsed: tt.parsed, New: tt.parsed, Malformed: tt.malformed}
			if diff := cmp.Diff(want, counts(res)); diff != "" {
				t.Errorf("first sync (-want +got):\n%s", diff)
			}
			again, err := st.Sync(t.Context(), tt.source, dir)
			if err != nil {
				t.Fatal(err)
			}
			if again.New+again.Changed != 0 {
				t.Errorf("second sync %v, want nothing new or changed", again)
			}
		})
	}
	if n := e.count(t, `SELECT count(*) FROM affected WHERE notice_id = 'CESA-2018:2881'
		AND ecosystem = 'rpm' AND package = 'firefox' AND release IN ('el6', 'el7')`); n != 2 {
		t.Errorf("CESA-2018:2881 has %d of its el6 and el7 firefox rows", n)
	}
}

// TestSyncArchiveHTTP serves the Debian archive's pages, the index with an
// ETag: the first sync follows the index to its second page and the
// messages; the second gets a 304 for the index and fetches nothing else.
func TestSyncArchiveHTTP(t *testing.T) {
	var requests, cond atomic.Int32
	files := http.FileServer(http.Dir(filepath.Join(archives, "debian-security-announce")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path == "/2022/threads.html" {
			if r.Header.Get("If-None-Match") == `"idx-1"` {
				cond.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"idx-1"`)
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t)
	st := e.stage(t, notices.Options{PerHost: 1000})

	res, err := st.Sync(t.Context(), "debian-announce", srv.URL+"/2022/threads.html")
	if err != nil {
		t.Fatal(err)
	}
	// threads.html, thrd2.html, maillist.html and four messages.
	want := notices.Result{Parsed: 3, New: 3, Malformed: 1}
	if diff := cmp.Diff(want, counts(res)); diff != "" || requests.Load() != 7 {
		t.Errorf("first sync after %d requests, want 7 (-want +got):\n%s", requests.Load(), diff)
	}
	var url string
	if err := e.pool.QueryRow(t.Context(), `SELECT url FROM notices
		WHERE id = 'DSA-5196-1'`).Scan(&url); err != nil {
		t.Fatal(err)
	}
	if url != srv.URL+"/2022/msg00150.html" {
		t.Errorf("DSA-5196-1 url %s, want its message page", url)
	}

	res, err = st.Sync(t.Context(), "debian-announce", srv.URL+"/2022/threads.html")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(notices.Result{NotModified: 1}, counts(res)); diff != "" ||
		cond.Load() != 1 || requests.Load() != 8 {
		t.Errorf("second sync: %d conditional answers, %d requests (-want +got):\n%s",
			cond.Load(), requests.Load(), diff)
	}

}
