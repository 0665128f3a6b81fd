package crawler_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/internal/registrytest"
)

// proxy serves a reverse proxy to registry; before, when set, may answer
// a request itself by returning true. It returns the proxy's host:port.
func proxy(t *testing.T, registry string, before func(http.ResponseWriter,
	*http.Request) bool) string {
	t.Helper()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: registry})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil && before(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// authFile writes an auth file in the auth.json and config.json format
// holding user:password for registry.
func authFile(t *testing.T, name, registry, user, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	writeTestFile(t, p, fmt.Appendf(nil, `{"auths": {%q: {"auth": %q}}}`, registry, auth))
	return p
}

func TestCrawlRegistryAuth(t *testing.T) {
	const user, password = "crawler", "s3cret-pass"
	reg := registrytest.Start(t, user, password).Host
	// ocitest pushes without credentials, so through a proxy adding them.
	pusher := proxy(t, reg, func(_ http.ResponseWriter, r *http.Request) bool {
		r.SetBasicAuth(user, password)
		return false
	})
	img := transportImage(t, "amd64")
	want := ocitest.Push(t, pusher, "private/app", "v1", img)
	ref := "docker://" + reg + "/private/app:v1"

	missing := filepath.Join(t.TempDir(), "absent.json")
	tests := []struct {
		name  string
		files []string
		ok    bool
	}{
		{"containers auth.json", []string{authFile(t, "auth.json", reg, user, password)}, true},
		{"docker config.json after a missing file",
			[]string{missing, authFile(t, "config.json", reg, user, password)}, true},
		{"first file with credentials wins", []string{
			authFile(t, "auth.json", reg, user, "wrong"),
			authFile(t, "config.json", reg, user, password)}, false},
		{"wrong password", []string{authFile(t, "auth.json", reg, user, "wrong")}, false},
		{"no credentials", []string{missing}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := crawler.Crawl(t.Context(), ref, crawler.CrawlOptions{
				InsecureRegistries: []string{reg}, AuthFiles: tt.files,
			})
			if !tt.ok {
				if err == nil || !errors.Is(err, crawler.ErrNotFound) {
					t.Fatalf("crawl = %v, want a denial wrapping ErrNotFound", err)
				}
				if strings.Contains(err.Error(), password) {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != want || len(got.Packages) != 1 {
				t.Errorf("digest %s with %d packages, want %s with 1", got.Digest,
					len(got.Packages), want)
			}
		})
	}
}

func TestCrawlRetryAfter(t *testing.T) {
	reg := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	repo := "crawlspace-test/ratelimit-" + randomName(t)
	want := ocitest.Push(t, reg, repo, "v1", transportImage(t, "amd64"))

	var manifestGets, refused atomic.Int32
	var refusedAt, retriedAt atomic.Int64
	limited := proxy(t, reg, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
			return false
		}
		n := manifestGets.Add(1)
		if n == 2 {
			retriedAt.Store(time.Now().UnixNano())
		}
		if n == 1 {
			refused.Add(1)
			refusedAt.Store(time.Now().UnixNano())
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`, http.StatusTooManyRequests)
			return true
		}
		return false
	})
	got, err := crawler.Crawl(t.Context(), "docker://"+limited+"/"+repo+":v1",
		crawler.CrawlOptions{InsecureRegistries: []string{limited}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != want {
		t.Errorf("digest %s, want %s", got.Digest, want)
	}
	if refused.Load() != 1 || manifestGets.Load() < 2 {
		t.Fatalf("%d manifest GETs, %d refused; want a retry after the 429",
			manifestGets.Load(), refused.Load())
	}
	if wait := time.Duration(retriedAt.Load() - refusedAt.Load()); wait < 900*time.Millisecond {
		t.Errorf("retried %s after the 429, before its Retry-After of 1s", wait)
	}
}
