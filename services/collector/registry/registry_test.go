package registry_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crawlspace.dev/services/collector/registry"
	"crawlspace.dev/services/internal/registrytest"
	"crawlspace.dev/services/platform/fetch"
	"crawlspace.dev/services/platform/fixtures"
	"crawlspace.dev/services/platform/registryauth"
)

// counting counts the requests a client sends, by path.
type counting struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func newClient(t *testing.T, base string, creds registry.Credentials) (*registry.Client,
	*counting) {
	t.Helper()
	rt := &counting{next: http.DefaultTransport}
	f := fetch.New(fetch.Options{HTTP: &http.Client{Transport: rt}, Rate: 1000, Burst: 100})
	c, err := registry.New(base, f, creds)
	if err != nil {
		t.Fatal(err)
	}
	return c, rt
}

func login(user, pass string) registry.Credentials {
	return func(string) (registryauth.Credential, bool) {
		return registryauth.Credential{Username: user, Password: pass}, true
	}
}

// populate pushes repos repositories with tags tags each, one manifest.
func populate(t *testing.T, p *registrytest.Pusher, repos, tags int) ([]string, []string) {
	t.Helper()
	var names, tagNames []string
	for i := range tags {
		tagNames = append(tagNames, fmt.Sprintf("v%03d", i))
	}
	for i := range repos {
		name := fmt.Sprintf("team%d/app%02d", i%3, i)
		img := p.Image(name, time.Time{})
		p.Tag(name, img.Manifest, tagNames...)
		names = append(names, name)
	}
	slices.Sort(names)
	return names, tagNames
}

func listCatalog(t *testing.T, c *registry.Client, last string, n int) ([]string, error) {
	var got []string
	err := c.Catalog(t.Context(), last, n, func(repos []string) error {
		got = append(got, repos...)
		return nil
	})
	return got, err
}

func TestCatalogAndTagsOnARealRegistry(t *testing.T) {
	reg := registrytest.Start(t, "", "")
	names, tags := populate(t, reg.Pusher(t), 23, 12)
	big := "big/many-tags"
	var bigTags []string
	for i := range 300 {
		bigTags = append(bigTags, fmt.Sprintf("1.%d.%d", i/10, i%10))
	}
	p := reg.Pusher(t)
	p.Tag(big, p.Image(big, time.Time{}).Manifest, bigTags...)
	all := append(slices.Clone(names), big)
	slices.Sort(all)

	tests := []struct {
		name      string
		last      string
		n         int
		want      []string
		wantPages int64
	}{
		{"pages of 5", "", 5, all, 5},
		{"one page", "", 100, all, 1},
		{"resume after a cursor", names[9], 7, all[slices.Index(all, names[9])+1:], 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rt := newClient(t, reg.URL(), nil)
			got, err := listCatalog(t, c, tt.last, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("catalog = %q\nwant %q", got, tt.want)
			}
			if rt.n.Load() != tt.wantPages {
				t.Errorf("%d requests, want %d pages", rt.n.Load(), tt.wantPages)
			}
		})
	}
	t.Run("tags", func(t *testing.T) {
		c, _ := newClient(t, reg.URL(), nil)
		for repo, want := range map[string][]string{names[0]: tags, big: bigTags} {
			got, err := c.Tags(t.Context(), repo, 50)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			want = slices.Sorted(slices.Values(want))
			if !slices.Equal(got, want) {
				t.Errorf("%s: %d tags, want %d", repo, len(got), len(want))
			}
		}
	})
}

func TestBasicAuthRegistry(t *testing.T) {
	reg := registrytest.Start(t, "collector", "s3cret-pass")
	names, _ := populate(t, reg.Pusher(t), 4, 3)
	tests := []struct {
		name    string
		creds   registry.Credentials
		wantErr bool
	}{
		{"right login", login("collector", "s3cret-pass"), false},
		{"no login", nil, true},
		{"wrong password", login("collector", "nope"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, reg.URL(), tt.creds)
			got, err := listCatalog(t, c, "", 2)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("listed %q without the right login", got)
				}
				if msg := err.Error(); strings.Contains(msg, "s3cret") ||
					strings.Contains(msg, "nope") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, names) {
				t.Errorf("catalog = %q, want %q", got, names)
			}
			tags, err := c.Tags(t.Context(), names[0], 0)
			if err != nil || len(tags) != 3 {
				t.Errorf("tags = %q, %v", tags, err)
			}
		})
	}
	t.Run("no login is ErrUnauthorized", func(t *testing.T) {
		c, _ := newClient(t, reg.URL(), nil)
		if _, err := listCatalog(t, c, "", 2); !errors.Is(err, registry.ErrUnauthorized) {
			t.Errorf("err = %v, want ErrUnauthorized", err)
		}
	})
}

// tokenGate fronts a real registry with the bearer-token flow: the
// registry answers only requests carrying a token its token endpoint
// issued, for the scope the request needs.
type tokenGate struct {
	user, pass string
	issued     atomic.Int64
	mu         sync.Mutex
	tokens     map[string]string // token -> scope
	proxy      *httputil.ReverseProxy
	srv        *httptest.Server
}

func newTokenGate(t *testing.T, upstream, user, pass string) *tokenGate {
	u, _ := url.Parse(upstream)
	g := &tokenGate{user: user, pass: pass, tokens: map[string]string{},
		proxy: httputil.NewSingleHostReverseProxy(u)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /token", g.token)
	mux.HandleFunc("/v2/", g.gate)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *tokenGate) token(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != g.user || p != g.pass ||
		r.URL.Query().Get("service") != "gate" {
		http.Error(w, "bad login", http.StatusUnauthorized)
		return
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	g.mu.Lock()
	g.tokens[tok] = r.URL.Query().Get("scope")
	g.mu.Unlock()
	g.issued.Add(1)
	fmt.Fprintf(w, `{"access_token": %q, "expires_in": 300}`, tok)
}

func (g *tokenGate) gate(w http.ResponseWriter, r *http.Request) {
	scope := "registry:catalog:*"
	if repo, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v2/"), "/tags/list"); ok {
		scope = "repository:" + repo + ":pull"
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g.mu.Lock()
	granted := g.tokens[tok]
	g.mu.Unlock()
	if granted != scope {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(
			`Bearer realm=%q,service="gate",scope=%q`, g.srv.URL+"/token", scope))
		http.Error(w, "token needed", http.StatusUnauthorized)
		return
	}
	g.proxy.ServeHTTP(w, r)
}

func TestBearerTokenFlow(t *testing.T) {
	reg := registrytest.Start(t, "", "")
	names, _ := populate(t, reg.Pusher(t), 6, 4)
	g := newTokenGate(t, reg.URL(), "robot", "robot-pass")

	c, _ := newClient(t, g.srv.URL, login("robot", "robot-pass"))
	got, err := listCatalog(t, c, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, names) {
		t.Errorf("catalog = %q, want %q", got, names)
	}
	for _, n := range names[:2] {
		for range 2 {
			if tags, err := c.Tags(t.Context(), n, 0); err != nil || len(tags) != 4 {
				t.Errorf("tags of %s = %q, %v", n, tags, err)
			}
		}
	}
	// One token for the catalog's three pages, one per repository.
	if n := g.issued.Load(); n != 3 {
		t.Errorf("%d tokens issued, want 3 (cached per scope)", n)
	}

	bad, _ := newClient(t, g.srv.URL, login("robot", "wrong"))
	if _, err := listCatalog(t, bad, "", 2); !errors.Is(err, registry.ErrUnauthorized) {
		t.Errorf("wrong password: err = %v, want ErrUnauthorized", err)
	}
}

func TestCreated(t *testing.T) {
	reg := registrytest.Start(t, "", "")
	p := reg.Pusher(t)
	when := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	p.Tag("x/app", p.Image("x/app", when).Manifest, "dated")
	p.Tag("x/app", p.Image("x/app", time.Time{}).Manifest, "undated")
	c, _ := newClient(t, reg.URL(), nil)
	for tag, want := range map[string]time.Time{"dated": when, "undated": {}} {
		got, err := c.Created(t.Context(), "x/app", tag)
		if err != nil || !got.Equal(want) {
			t.Errorf("Created(%s) = %v, %v; want %v", tag, got, err, want)
		}
	}
	if _, err := c.Created(t.Context(), "x/app", "missing"); !fetch.IsStatus(err, 404) {
		t.Errorf("missing tag: err = %v, want a 404", err)
	}
}

func TestTagsFollowRecordedPages(t *testing.T) {
	var pages [2][]byte
	for i, f := range []string{"dotnet_page_1.json", "dotnet_page_2.json"} {
		b, err := os.ReadFile(fixtures.Path(t, "dockerhub/registry-v2/tags-list/"+f))
		if err != nil {
			t.Fatal(err)
		}
		pages[i] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("last") == "" {
			w.Header().Set("Link", `</v2/microsoft/dotnet/tags/list?last=p1&n=2>; rel="next"`)
			_, _ = w.Write(pages[0])
			return
		}
		_, _ = w.Write(pages[1])
	}))
	defer srv.Close()
	c, rt := newClient(t, srv.URL, nil)
	got, err := c.Tags(t.Context(), "microsoft/dotnet", 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range pages {
		var tl registry.TagList
		must(t, jsonUnmarshal(p, &tl))
		want = append(want, tl.Tags...)
	}
	if !slices.Equal(got, want) || rt.n.Load() != 2 {
		t.Errorf("got %d tags in %d requests, want %d in 2", len(got), rt.n.Load(), len(want))
	}
}
