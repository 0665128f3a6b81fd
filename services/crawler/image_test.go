package crawler_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/crawler/osrelease"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/store/storetest"
)

// testImages returns CRAWLSPACE_TEST_IMAGES, the directory that
// scripts/build-test-images.sh fills, checking that it holds the bookworm
// artifacts.
func testImages(t *testing.T) string {
	t.Helper()
	dir := ocitest.Images(t)
	for _, p := range []string{"rootfs/bookworm/var/lib/dpkg/status", "oci/index.json",
		"bookworm.docker-archive.tar"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("test images incomplete (run scripts/build-test-images.sh): %v", err)
		}
	}
	return dir
}

func packageLines(pkgs []crawler.Package) []string {
	var lines []string
	for _, p := range pkgs {
		lines = append(lines, strings.Join([]string{p.Name, p.Arch, p.Version,
			p.SourceName, p.SourceVersion}, " "))
	}
	sort.Strings(lines)
	return lines
}

func TestCrawlBookworm(t *testing.T) {
	dir := testImages(t)
	reg := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	want := ocitest.InstalledPackages(t, filepath.Join(dir, "rootfs/bookworm"))
	if len(want) < 80 {
		t.Fatalf("dpkg-query found %d installed packages in the rootfs, want a minbase", len(want))
	}
	refs := []string{
		"docker://" + reg + "/test/debian:bookworm",
		reg + "/test/debian:bookworm",
		"oci:" + filepath.Join(dir, "oci") + ":bookworm",
		"docker-archive:" + filepath.Join(dir, "bookworm.docker-archive.tar"),
	}
	opts := crawler.CrawlOptions{InsecureRegistries: []string{reg}}
	for _, ref := range refs {
		t.Run(ref, func(t *testing.T) {
			img, err := crawler.Crawl(t.Context(), ref, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, packageLines(img.Packages)); diff != "" {
				t.Errorf("packages differ from dpkg-query (-want +got):\n%s", diff)
			}
			wantOS := osrelease.OS{ID: "debian", VersionID: "12", Codename: "bookworm",
				Name: "Debian GNU/Linux 12 (bookworm)"}
			if diff := cmp.Diff(wantOS, img.OS); diff != "" {
				t.Errorf("OS mismatch (-want +got):\n%s", diff)
			}
			checkBookworm(t, img)
		})
	}
}

// TestCrawlDebianSuites crawls each debootstrap-built Debian image from the
// test registry and compares it with its rootfs.
func TestCrawlDebianSuites(t *testing.T) {
	dir := testImages(t)
	reg := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	tests := []struct {
		suite   string
		version string
		min     int // installed packages a minbase has at least
	}{
		{suite: "bullseye", version: "11", min: 80},
		{suite: "bookworm", version: "12", min: 80},
		{suite: "trixie", version: "13", min: 70},
	}
	opts := crawler.CrawlOptions{InsecureRegistries: []string{reg}}
	for _, tt := range tests {
		t.Run(tt.suite, func(t *testing.T) {
			rootfs := suiteRootfs(t, dir, tt.suite)
			want := ocitest.InstalledPackages(t, rootfs)
			if len(want) < tt.min {
				t.Fatalf("dpkg-query found %d installed packages in %s, want at least %d",
					len(want), rootfs, tt.min)
			}
			ref := "docker://" + reg + "/test/debian:" + tt.suite
			img, err := crawler.Crawl(t.Context(), ref, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, packageLines(img.Packages)); diff != "" {
				t.Errorf("packages differ from dpkg-query (-want +got):\n%s", diff)
			}
			wantOS := osrelease.OS{ID: "debian", VersionID: tt.version, Codename: tt.suite,
				Name: "Debian GNU/Linux " + tt.version + " (" + tt.suite + ")"}
			if diff := cmp.Diff(wantOS, img.OS); diff != "" {
				t.Errorf("OS mismatch (-want +got):\n%s", diff)
			}
			user := strings.Contains(string(img.Config), `"User":"1000:1000"`)
			if len(img.Layers) != 1 || !user {
				t.Errorf("got %d layers and config %s; want 1 layer, user 1000:1000",
					len(img.Layers), img.Config)
			}
		})
	}
}

// suiteRootfs returns rootfs/SUITE in the test images, failing under CI
// and skipping otherwise when scripts/build-test-images.sh has not built it
// (it skips a suite the mirror does not serve).
func suiteRootfs(t *testing.T, dir, suite string) string {
	t.Helper()
	rootfs := filepath.Join(dir, "rootfs", suite)
	if _, err := os.Stat(filepath.Join(rootfs, "var/lib/dpkg/status")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no %s test image (run scripts/build-test-images.sh): %v", suite, err)
		}
		t.Skipf("no %s test image (run scripts/build-test-images.sh): %v", suite, err)
	}
	return rootfs
}

// TestHandleNamedBookworm stores the real bookworm image, thousands of
// files, through the stage.
func TestHandleNamedBookworm(t *testing.T) {
	dir := testImages(t)
	reg := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	pool, _ := storetest.New(t)
	st := crawler.New(pool, bustest.New(t), crawler.Options{InsecureRegistries: []string{reg}})
	ref := "docker://" + reg + "/test/debian:bookworm"
	opts := crawler.CrawlOptions{InsecureRegistries: []string{reg}}
	img, err := crawler.Crawl(t.Context(), ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"ref": "` + ref + `", "runId": "bookworm"}`)
	msg := &bus.Message{Subject: "image.named", Data: data, Attempt: 1}
	if err := st.HandleNamed(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	var files, pkgs int
	var user string
	err = pool.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM image_files WHERE image_digest = $1),
		(SELECT count(*) FROM image_packages WHERE image_digest = $1),
		(SELECT config->'config'->>'User' FROM images WHERE digest = $1)`, img.Digest).
		Scan(&files, &pkgs, &user)
	if err != nil {
		t.Fatal(err)
	}
	want := ocitest.InstalledPackages(t, filepath.Join(dir, "rootfs/bookworm"))
	if files != len(img.Files) || pkgs != len(want) || user != "1000:1000" {
		t.Errorf("stored %d files, %d packages, user %q; want %d, %d, 1000:1000",
			files, pkgs, user, len(img.Files), len(want))
	}
}

// checkBookworm asserts facts every crawl of the bookworm test image shares.
func checkBookworm(t *testing.T, img *crawler.Image) {
	t.Helper()
	if !strings.HasPrefix(img.Digest, "sha256:") || img.Architecture != "amd64" {
		t.Errorf("digest %q, architecture %q", img.Digest, img.Architecture)
	}
	if len(img.Layers) != 1 {
		t.Errorf("got %d layers, want 1", len(img.Layers))
	}
	if img.Created == nil {
		t.Error("no created time")
	}
	if !strings.Contains(string(img.Config), `"User":"1000:1000"`) {
		t.Errorf("config lacks the user 1000:1000: %s", img.Config)
	}
	files := make(map[string]string)
	for _, f := range img.Files {
		files[f.Path] = string(f.Type) + " " + f.Link
	}
	checks := map[string]string{
		"/etc/os-release":     "symlink ../usr/lib/os-release",
		"/usr/lib/os-release": "file ",
		"/etc/passwd":         "file ",
		"/bin":                "symlink usr/bin",
		"/usr/bin/passwd":     "file ",
	}
	for p, want := range checks {
		if files[p] != want {
			t.Errorf("%s: got %q, want %q", p, files[p], want)
		}
	}
	if len(img.Files) < 5000 {
		t.Errorf("got %d files, want the thousands of a minbase", len(img.Files))
	}
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release", "/etc/passwd",
		"/etc/shadow"} {
		if _, ok := img.ConfigFiles[p]; !ok {
			t.Errorf("config file %s not captured", p)
		}
	}
	if !strings.HasPrefix(img.ConfigFiles["/etc/passwd"], "root:x:0:0:root:/root:/bin/bash\n") {
		t.Errorf("passwd starts %.40q", img.ConfigFiles["/etc/passwd"])
	}
	if !strings.HasPrefix(img.ConfigFiles["/etc/shadow"], "root:*:") {
		t.Errorf("shadow starts %.40q", img.ConfigFiles["/etc/shadow"])
	}
}

// BenchmarkCrawlBookworm crawls bookworm from its OCI layout, where
// decompressing the gzip layer dominates, and from its uncompressed
// docker-archive, where tar reading and file scanning do.
func BenchmarkCrawlBookworm(b *testing.B) {
	dir := ocitest.Images(b)
	for _, ref := range []string{
		"oci:" + filepath.Join(dir, "oci") + ":bookworm",
		"docker-archive:" + filepath.Join(dir, "bookworm.docker-archive.tar"),
	} {
		name, _, _ := strings.Cut(ref, ":")
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := crawler.Crawl(b.Context(), ref, crawler.CrawlOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
