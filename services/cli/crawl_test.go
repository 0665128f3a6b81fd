package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"crawlspace.dev/services/internal/ocitest"
)

// crawlCmd runs `crawlspace crawl args...` and returns what it printed.
func crawlCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errs bytes.Buffer
	err := Run(t.Context(), append([]string{"crawl"}, args...),
		func(string) string { return "" }, nil, &out, &errs)
	if err != nil {
		t.Fatalf("crawl %v: %v (%s)", args, err, errs.String())
	}
	return out.Bytes()
}

// TestCrawlJSON crawls the bookworm test image as a user would, without a
// database or the pipeline: the JSON has scan's image keys, its packages
// are what dpkg-query reports of the same root filesystem, each with the
// layer that installed it, and files, configs and config follow.
func TestCrawlJSON(t *testing.T) {
	dir := ocitest.Images(t)
	data := crawlCmd(t, "--format", "json", "oci:"+filepath.Join(dir, "oci")+":bookworm")
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ref", "digest", "platform", "os", "layers", "packages",
		"files", "configs", "config"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("crawl JSON lacks %q", k)
		}
	}
	var out crawlOutput
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Platform != "linux/amd64" || out.OS.Codename != "bookworm" ||
		!strings.HasPrefix(out.Digest, "sha256:") {
		t.Errorf("crawl = %s %s %+v, want a linux/amd64 bookworm image", out.Digest,
			out.Platform, out.OS)
	}
	layers := map[string]bool{}
	for _, l := range out.Layers {
		layers[l.Digest] = true
	}
	var got []string
	for _, p := range out.Packages {
		if !layers[p.Layer] {
			t.Errorf("package %s names layer %q, not one of the image's", p.Name, p.Layer)
		}
		got = append(got, strings.Join([]string{p.Name, p.Arch, p.Version, p.SourceName,
			p.SourceVersion}, " "))
	}
	sort.Strings(got)
	want := ocitest.InstalledPackages(t, filepath.Join(dir, "rootfs/bookworm"))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("crawl lists %d packages, dpkg-query %d, or they differ", len(got), len(want))
	}
	if len(out.Files) < 1000 || out.Configs["/etc/passwd"] == "" || !json.Valid(out.Config) {
		t.Errorf("crawl has %d files, passwd %t, a valid config %t; want them all",
			len(out.Files), out.Configs["/etc/passwd"] != "", json.Valid(out.Config))
	}
	table := string(crawlCmd(t, "oci:"+filepath.Join(dir, "oci")+":bookworm"))
	if !regexp.MustCompile(`(?m)^platform +linux/amd64$`).MatchString(table) ||
		!regexp.MustCompile(`(?m)^dpkg +base-files `).MatchString(table) {
		t.Errorf("crawl table lacks the platform or the packages:\n%.400s", table)
	}
}

// TestCrawlAllPlatforms crawls every platform of an image index: the JSON
// is an array with one image per platform, each naming its platform.
func TestCrawlAllPlatforms(t *testing.T) {
	imgs := map[string]*ocitest.Image{}
	for _, p := range []string{"linux/amd64", "linux/arm64/v8"} {
		cfg := ocitest.Config{Platform: p, Runtime: map[string]any{"User": "0:0"}}
		imgs[p] = ocitest.BuildConfig(t, cfg, ocitest.Layer{
			MediaType: ocitest.MediaTarGzip, Blob: ocitest.Gzip(t, ocitest.Tar(t,
				ocitest.Entry{Name: "etc/os-release", Body: "ID=debian\nVERSION_ID=\"12\"\n"}))})
	}
	ref := ocitest.WriteIndex(t, t.TempDir(), "multi", imgs)
	var outs []crawlOutput
	if err := json.Unmarshal(crawlCmd(t, "--platform", "all", "--format", "json", ref),
		&outs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range outs {
		got[o.Platform] = o.Digest
	}
	for p, img := range imgs {
		if d := ocitest.ManifestDigest(img.Manifest); got[p] != d {
			t.Errorf("platform %s crawled as %q, want %s (all: %v)", p, got[p], d, got)
		}
	}
	if len(outs) != len(imgs) {
		t.Errorf("%d images crawled, want %d", len(outs), len(imgs))
	}
}
