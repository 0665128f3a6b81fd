package crawler_test

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/distro"
	"crawlspace.dev/services/platform/store/storetest"
)

// bookwormBase returns the bookworm test image's one layer, read whole.
func bookwormBase(t *testing.T) ocitest.Layer {
	t.Helper()
	img, err := crawler.Crawl(t.Context(), "oci:"+filepath.Join(testImages(t), "oci")+
		":bookworm", crawler.CrawlOptions{Known: func(context.Context, string) (bool, error) {
		return true, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	l := img.Layers[0]
	blob, err := os.ReadFile(filepath.Join(testImages(t), "oci/blobs/sha256",
		strings.TrimPrefix(l.Digest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	return ocitest.Layer{MediaType: l.MediaType, Blob: blob}
}

// appLayer is a layer over bookworm with deleted files, an opaque
// directory, new config files and one package of every language ecosystem.
func appLayer(t *testing.T) ocitest.Layer {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	gobin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	return gzLayer(t,
		entry{Name: "etc/.wh.motd"},
		entry{Name: "etc/apt/"}, entry{Name: "etc/apt/.wh..wh..opq"},
		entry{Name: "etc/apt/sources.list",
			Body: "deb http://deb.debian.org/debian bookworm main\n"},
		entry{Name: "etc/gshadow", Body: "root:$6$x$hash::\nusers:!::\n", Mode: 0o640},
		entry{Name: "etc/pam.d/app", Body: "auth required pam_deny.so\n"},
		entry{Name: "etc/sudoers.d/app", Body: "app ALL=(ALL) NOPASSWD: ALL\n", Mode: 0o440},
		entry{Name: "usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA",
			Body: "Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\n"},
		entry{Name: "app/node_modules/@babel/core/package.json",
			Body: `{"name": "@babel/core", "version": "7.22.5"}`},
		entry{Name: "var/lib/gems/3.1.0/specifications/rake-13.0.6.gemspec",
			Body: "Gem::Specification.new do |s|\n  s.name = \"rake\".freeze\n" +
				"  s.version = \"13.0.6\"\nend\n"},
		entry{Name: "app/lib/snakeyaml.jar", Body: string(jar(t,
			"META-INF/maven/org.yaml/snakeyaml/pom.properties",
			"groupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n"))},
		entry{Name: "app/bin/server", Body: string(gobin), Mode: 0o755},
	)
}

// jar returns a zip archive holding one file.
func jar(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// view is what a crawl found that must not depend on the cache.
type view struct {
	OS       any
	Packages []crawler.Package
	Files    any
	Configs  map[string]string
}

func viewOf(img *crawler.Image) view {
	return view{OS: img.OS, Packages: img.Packages, Files: img.Files, Configs: img.ConfigFiles}
}

// TestLayerCacheSharedBase crawls bookworm, then an image of bookworm plus
// one layer whose layout lacks the base blob: the crawl can only succeed by
// reading the base layer's features from the cache. Its result must equal a
// cold crawl of the complete layout.
func TestLayerCacheSharedBase(t *testing.T) {
	pool, _ := storetest.New(t)
	cache := crawler.PGCache{Pool: pool}
	base, app := bookwormBase(t), appLayer(t)
	coldRef := ocitest.Write(t, t.TempDir(), "app", "1000:1000", base, app)

	start := time.Now()
	cold, err := crawler.Crawl(t.Context(), coldRef, crawler.CrawlOptions{})
	if err != nil {
		t.Fatal(err)
	}
	coldTime := time.Since(start)

	baseRef := ocitest.Write(t, t.TempDir(), "base", "1000:1000", base)
	_, err = crawler.Crawl(t.Context(), baseRef, crawler.CrawlOptions{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	warmRef := withoutBlob(t, coldRef, cold.Layers[0].Digest)
	start = time.Now()
	warm, err := crawler.Crawl(t.Context(), warmRef, crawler.CrawlOptions{Cache: cache})
	if err != nil {
		t.Fatalf("crawl without the base blob: %v", err)
	}
	warmTime := time.Since(start)
	t.Logf("cold crawl %s, shared-base crawl %s", coldTime, warmTime)

	if !warm.Layers[0].Cached || warm.Layers[1].Cached {
		t.Errorf("cached = %v, %v; want the base only", warm.Layers[0].Cached,
			warm.Layers[1].Cached)
	}
	if diff := cmp.Diff(viewOf(cold), viewOf(warm)); diff != "" {
		t.Errorf("shared-base crawl differs from a cold one (-cold +warm):\n%s", diff)
	}
	checkApp(t, cold)

	again, err := crawler.Crawl(t.Context(), warmRef, crawler.CrawlOptions{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Layers[0].Cached || !again.Layers[1].Cached {
		t.Error("a second crawl read a layer again")
	}
}

// withoutBlob copies the layout of ref without the blob d, and returns the
// copy's reference.
func withoutBlob(t *testing.T, ref, d string) string {
	t.Helper()
	rest := strings.TrimPrefix(ref, "oci:")
	i := strings.LastIndexByte(rest, ':')
	src, tag := rest[:i], rest[i+1:]
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == strings.TrimPrefix(d, "sha256:") {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.Link(p, filepath.Join(dst, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
	return "oci:" + dst + ":" + tag
}

// checkApp asserts what the app layer adds to and removes from bookworm.
func checkApp(t *testing.T, img *crawler.Image) {
	t.Helper()
	files := fileMap(img)
	for p, want := range map[string]string{"/etc/motd": "", "/etc/apt/apt.conf.d": "",
		"/etc/apt/sources.list": "file", "/app/bin/server": "file"} {
		if files[p] != want {
			t.Errorf("%s: %q, want %q", p, files[p], want)
		}
	}
	if got := img.ConfigFiles["/etc/gshadow"]; got != "root:<hashed>::\nusers:!::\n" {
		t.Errorf("gshadow stored as %q", got)
	}
	for _, p := range []string{"/etc/pam.d/app", "/etc/sudoers.d/app", "/etc/pam.d/login",
		"/etc/login.defs", "/etc/group"} {
		if _, ok := img.ConfigFiles[p]; !ok {
			t.Errorf("config file %s not captured", p)
		}
	}
	app := img.Layers[1].Digest
	want := map[string]string{
		distro.PyPI + " jinja2":              "3.1.2",
		distro.NPM + " @babel/core":          "7.22.5",
		distro.Gem + " rake":                 "13.0.6",
		distro.Maven + " org.yaml:snakeyaml": "1.33",
		// A test binary's build info lists no modules, only its toolchain.
		distro.Go + " stdlib": "v" + strings.TrimPrefix(runtime.Version(), "go"),
	}
	for _, p := range img.Packages {
		k := p.Ecosystem + " " + p.Name
		if v, ok := want[k]; ok {
			if p.Version != v || p.Layer != app || p.SourceName != p.Name {
				t.Errorf("%s: %+v, want version %s in the app layer", k, p, v)
			}
			delete(want, k)
		}
		if p.Ecosystem == distro.Dpkg && p.Layer != img.Layers[0].Digest {
			t.Errorf("dpkg package %s attributed to layer %s", p.Name, p.Layer)
		}
	}
	if len(want) > 0 {
		t.Errorf("language packages not found: %v", want)
	}
}

// TestLayerCacheRace crawls one new image from several goroutines sharing
// one cache, as replicas would: each crawl succeeds with the same result
// and the cache holds one entry per layer.
func TestLayerCacheRace(t *testing.T) {
	pool, _ := storetest.New(t)
	cache := crawler.PGCache{Pool: pool}
	ref := ocitest.Write(t, t.TempDir(), "x", "", gzLayer(t,
		entry{Name: "etc/os-release", Body: osRelease}), appLayer(t))
	const n = 4
	imgs := make([]*crawler.Image, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			imgs[i], errs[i] = crawler.Crawl(t.Context(), ref, crawler.CrawlOptions{Cache: cache})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("crawl %d: %v", i, errs[i])
		}
		if diff := cmp.Diff(viewOf(imgs[0]), viewOf(imgs[i])); diff != "" {
			t.Errorf("crawl %d differs (-first +this):\n%s", i, diff)
		}
	}
	var rows int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM layer_features`).
		Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Errorf("layer cache holds %d rows, want 2", rows)
	}
	warm, err := crawler.Crawl(t.Context(), ref, crawler.CrawlOptions{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(viewOf(imgs[0]), viewOf(warm)); diff != "" || !warm.Layers[1].Cached {
		t.Errorf("crawl from the cache differs (-cold +warm):\n%s", diff)
	}
}
