// Package hubtest serves the hand-written Docker Hub API replies and pages in
// collector/hub/testdata from an httptest server, so that tests of the Hub
// modes run against Hub's shapes without reaching Hub.
package hubtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Server replays the replies.
type Server struct {
	*httptest.Server
	// Requests counts the requests served.
	Requests atomic.Int64
	// TooMany is how many of the first requests get 429 with
	// Retry-After: 1.
	TooMany atomic.Int64
	dir     string
	t       testing.TB
}

// Start serves the replies in dir until the test ends.
func Start(t testing.TB, dir string) *Server {
	s := &Server{dir: dir, t: t}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

const empty = `{"count": 0, "next": null, "previous": null, "results": []}`

// ServeHTTP answers one API request from the files.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	if s.TooMany.Add(-1) >= 0 {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	}
	q := r.URL.Query()
	page := q.Get("page")
	if page == "" {
		page = "1"
	}
	var file string
	ctype := "application/json"
	switch p := r.URL.Path; {
	case p == "/search" && q.Get("badges") == "official":
		file, ctype = "page-official.html", "text/html; charset=utf-8"
	case strings.HasPrefix(p, "/_/") || strings.HasPrefix(p, "/r/"):
		parts := strings.Split(strings.Trim(p, "/"), "/")
		file, ctype = "page-"+parts[len(parts)-1]+".html", "text/html; charset=utf-8"
	case p == "/v2/repositories/library/":
		file = "library-" + page + ".json"
	case p == "/v2/search/repositories/" && q.Get("query") == "":
		file = "search-all-" + strings.TrimSuffix(strings.TrimPrefix(q.Get("ordering"), "-"),
			"_count") + "-" + page + ".json"
	case p == "/v2/search/repositories/" && page == "1":
		file = "search-" + q.Get("query") + ".json"
	case strings.HasPrefix(p, "/v2/repositories/") && strings.HasSuffix(p, "/tags/"):
		parts := strings.Split(strings.Trim(p, "/"), "/")
		file = "tags-" + parts[len(parts)-2] + ".json"
	}
	w.Header().Set("Content-Type", ctype)
	data, err := os.ReadFile(filepath.Join(s.dir, filepath.Base(file)))
	if err != nil && ctype != "application/json" {
		http.NotFound(w, r)
		return
	}
	if file == "" || err != nil {
		_, _ = w.Write([]byte(empty))
		return
	}
	_, _ = w.Write(bytes.ReplaceAll(data, []byte("{{BASE}}"), []byte(s.URL)))
}
