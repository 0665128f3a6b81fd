package crawler_test

import (
	"archive/tar"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/internal/ocitest"
)

// transportImage is a small Debian-like image every transport test reads.
func transportImage(t *testing.T, arch string) *ocitest.Image {
	t.Helper()
	return ocitest.Build(t, "0:0", gzLayer(t,
		entry{Name: "etc/os-release", Body: osRelease},
		entry{Name: "var/lib/dpkg/status", Body: "Package: base-files\nStatus: install ok " +
			"installed\nArchitecture: " + arch + "\nVersion: 12.4\n\n"},
	))
}

// writeBlobs stores an image's blobs and manifest in an OCI layout's blob
// directory and returns the manifest digest.
func writeBlobs(t *testing.T, dir string, img *ocitest.Image) string {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	img.Blobs[ocitest.ManifestDigest(img.Manifest)] = img.Manifest
	for d, data := range img.Blobs {
		writeTestFile(t, filepath.Join(blobs, strings.TrimPrefix(d, "sha256:")), data)
	}
	return ocitest.ManifestDigest(img.Manifest)
}

// writeMultiLayout writes an OCI layout whose tag names an image index of
// one image per architecture, and returns its "oci:" reference and the
// manifest digest of each architecture.
func writeMultiLayout(t *testing.T, dir, tag string, archs ...string) (string, map[string]string) {
	t.Helper()
	digests := map[string]string{}
	var manifests []map[string]any
	for _, arch := range archs {
		img := transportImage(t, arch)
		d := writeBlobs(t, dir, img)
		digests[arch] = d
		manifests = append(manifests, map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json",
			"digest":    d, "size": len(img.Manifest),
			"platform": map[string]string{"os": "linux", "architecture": arch},
		})
	}
	// An attestation entry, as BuildKit writes them, is not a platform.
	att := ocitest.Build(t, "", gzLayer(t, entry{Name: "in-toto.json", Body: "{}"}))
	manifests = append(manifests, map[string]any{
		"mediaType": "application/vnd.oci.image.manifest.v1+json",
		"digest":    writeBlobs(t, dir, att), "size": len(att.Manifest),
		"platform": map[string]string{"os": "unknown", "architecture": "unknown"},
	})
	index := mustJSON(t, map[string]any{"schemaVersion": 2,
		"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})
	indexDigest := ocitest.ManifestDigest(index)
	writeTestFile(t, filepath.Join(dir, "blobs", "sha256",
		strings.TrimPrefix(indexDigest, "sha256:")), index)
	writeTestFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	writeTestFile(t, filepath.Join(dir, "index.json"), mustJSON(t, map[string]any{
		"schemaVersion": 2,
		"manifests": []map[string]any{{
			"mediaType": "application/vnd.oci.image.index.v1+json",
			"digest":    indexDigest, "size": len(index),
			"annotations": map[string]string{"org.opencontainers.image.ref.name": tag},
		}},
	}))
	return "oci:" + dir + ":" + tag, digests
}

// writeDir writes img in the dir: transport's layout.
func writeDir(t *testing.T, dir string, img *ocitest.Image) string {
	t.Helper()
	for d, data := range img.Blobs {
		writeTestFile(t, filepath.Join(dir, strings.TrimPrefix(d, "sha256:")), data)
	}
	writeTestFile(t, filepath.Join(dir, "manifest.json"), img.Manifest)
	writeTestFile(t, filepath.Join(dir, "version"), []byte("Directory Transport Version: 1.1\n"))
	return "dir:" + dir
}

// tarDir writes the tree under dir as a tar file at out.
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeTestFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, fs.FileMode(0o644)); err != nil {
		t.Fatal(err)
	}
}

func TestCrawlTransports(t *testing.T) {
	img := transportImage(t, "amd64")
	want := ocitest.ManifestDigest(img.Manifest)

	layout := t.TempDir()
	ociRef := ocitest.Write(t, layout, "v1", "0:0", gzLayer(t,
		entry{Name: "etc/os-release", Body: osRelease},
		entry{Name: "var/lib/dpkg/status", Body: "Package: base-files\nStatus: install ok " +
			"installed\nArchitecture: amd64\nVersion: 12.4\n\n"},
	))
	archive := filepath.Join(t.TempDir(), "image.tar")
	tarDir(t, layout, archive)

	tests := []struct {
		name, ref string
	}{
		{"oci", ociRef},
		{"oci-archive", "oci-archive:" + archive + ":v1"},
		{"dir", writeDir(t, t.TempDir(), img)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := crawler.Crawl(t.Context(), tt.ref, crawler.CrawlOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != want {
				t.Errorf("digest %s, want %s", got.Digest, want)
			}
			if got.OS.Codename != "bookworm" || len(got.Packages) != 1 ||
				got.Packages[0].Name != "base-files" {
				t.Errorf("os %+v, packages %+v; want bookworm and base-files", got.OS,
					got.Packages)
			}
		})
	}
}

func TestCrawlAllPlatforms(t *testing.T) {
	ref, digests := writeMultiLayout(t, t.TempDir(), "multi", "amd64", "arm64")
	tests := []struct {
		name     string
		platform string
		want     []string
	}{
		{"default", "", []string{"amd64"}},
		{"one platform", "linux/arm64", []string{"arm64"}},
		{"all", crawler.PlatformAll, []string{"amd64", "arm64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imgs, err := crawler.CrawlAll(t.Context(), ref,
				crawler.CrawlOptions{Platform: tt.platform})
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != len(tt.want) {
				t.Fatalf("got %d images, want %d", len(imgs), len(tt.want))
			}
			for i, arch := range tt.want {
				img := imgs[i]
				// ocitest's configs all say amd64; the digest tells them apart.
				if img.Digest != digests[arch] {
					t.Errorf("image %d: %s, want %s's %s", i, img.Digest, arch, digests[arch])
				}
				if len(img.Packages) != 1 || img.Packages[0].Arch != arch {
					t.Errorf("image %d packages %+v, want base-files for %s", i,
						img.Packages, arch)
				}
			}
		})
	}
}
