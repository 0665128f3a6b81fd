// Package ocitest writes real OCI image layouts for tests, from tar layers
// the test describes, so that crawls go through the oci: transport.
package ocitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Media types of layers and the manifest.
const (
	MediaTar      = "application/vnd.oci.image.layer.v1.tar"
	MediaTarGzip  = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTarZstd  = "application/vnd.oci.image.layer.v1.tar+zstd"
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
)

// Entry is one tar member. Type defaults to a regular file (or a directory
// when Name ends in "/"); Mode defaults to 0644 for files, 0755 otherwise.
type Entry struct {
	Name     string
	Type     byte
	Body     string
	Link     string
	Mode     int64
	UID, GID int
}

// Tar returns a tar stream of entries.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := header(e)
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write tar header %s: %v", e.Name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// header builds the tar header of e, filling defaults.
func header(e Entry) *tar.Header {
	hdr := &tar.Header{
		Name: e.Name, Typeflag: e.Type, Linkname: e.Link, Mode: e.Mode,
		Uid: e.UID, Gid: e.GID, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX,
	}
	if hdr.Typeflag == 0 {
		hdr.Typeflag = tar.TypeReg
		if len(e.Name) > 0 && e.Name[len(e.Name)-1] == '/' {
			hdr.Typeflag = tar.TypeDir
		}
	}
	if hdr.Mode == 0 {
		hdr.Mode = 0o755
		if hdr.Typeflag == tar.TypeReg {
			hdr.Mode = 0o644
		}
	}
	if hdr.Typeflag == tar.TypeReg {
		hdr.Size = int64(len(e.Body))
	}
	return hdr
}

// Gzip compresses data with gzip.
func Gzip(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Zstd compresses data with zstd.
func Zstd(t testing.TB, data []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(data, nil)
}

// Layer is one layer blob as the manifest lists it.
type Layer struct {
	MediaType string
	Blob      []byte
	// Digest, when set, is written in place of the blob's real digest.
	Digest string
}

// Image is an image built in memory: its manifest and every blob.
type Image struct {
	Manifest []byte
	Blobs    map[string][]byte
}

// Build returns a linux/amd64 image with config user and layers, lowest
// first.
func Build(t testing.TB, user string, layers ...Layer) *Image {
	t.Helper()
	return BuildConfig(t, Config{Runtime: map[string]any{"User": user}}, layers...)
}

// Config is what [BuildConfig] writes in an image's config.
type Config struct {
	// Platform is os/architecture[/variant]; empty means linux/amd64.
	Platform string
	// Runtime is the config's "config" object: User, Env, ExposedPorts
	// and the rest, as JSON encodes it.
	Runtime any
	// History lists the steps' created_by lines, lowest first; none
	// writes no history.
	History []string
}

// BuildConfig returns an image with config c and layers, lowest first.
func BuildConfig(t testing.TB, c Config, layers ...Layer) *Image {
	t.Helper()
	if c.Platform == "" {
		c.Platform = "linux/amd64"
	}
	img := &Image{Blobs: map[string][]byte{}}
	var descs []map[string]any
	var ids []string
	for _, l := range layers {
		d := l.Digest
		if d == "" {
			d = ManifestDigest(l.Blob)
		}
		img.Blobs[d] = l.Blob
		descs = append(descs, map[string]any{
			"mediaType": l.MediaType, "digest": d, "size": len(l.Blob),
		})
		ids = append(ids, d)
	}
	// diff_ids should name the uncompressed tars; the crawler never reads
	// them, so the blob digests stand in.
	doc := map[string]any{
		"created": "2024-05-01T12:00:00Z",
		"config":  c.Runtime,
		"rootfs":  map[string]any{"type": "layers", "diff_ids": ids},
	}
	if len(c.History) > 0 {
		var steps []map[string]any
		for _, h := range c.History {
			steps = append(steps, map[string]any{"created_by": h})
		}
		doc["history"] = steps
	}
	cfg := marshal(t, withPlatform(t, marshal(t, doc), c.Platform))
	cfgDigest := ManifestDigest(cfg)
	img.Blobs[cfgDigest] = cfg
	img.Manifest = marshal(t, map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaManifest,
		"config": map[string]any{
			"mediaType": mediaConfig, "digest": cfgDigest, "size": len(cfg),
		},
		"layers": descs,
	})
	return img
}

// Write writes an OCI layout under dir holding one image tagged tag, with
// config user and layers lowest first, and returns its "oci:" reference.
func Write(t testing.TB, dir, tag, user string, layers ...Layer) string {
	t.Helper()
	img := Build(t, user, layers...)
	if err := os.MkdirAll(filepath.Join(dir, "blobs/sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	for d, data := range img.Blobs {
		writeBlob(t, dir, d, data)
	}
	md := ManifestDigest(img.Manifest)
	writeBlob(t, dir, md, img.Manifest)
	index := marshal(t, map[string]any{
		"schemaVersion": 2,
		"manifests": []map[string]any{{
			"mediaType":   mediaManifest,
			"digest":      md,
			"size":        len(img.Manifest),
			"annotations": map[string]string{"org.opencontainers.image.ref.name": tag},
		}},
	})
	writeFile(t, filepath.Join(dir, "index.json"), index)
	return "oci:" + dir + ":" + tag
}

// WriteIndex writes an OCI layout under dir whose tag names an image index
// of imgs, keyed by platform ("linux/arm64"), and returns its "oci:"
// reference.
func WriteIndex(t testing.TB, dir, tag string, imgs map[string]*Image) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "blobs/sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	var manifests []map[string]any
	for platform, img := range imgs {
		for d, data := range img.Blobs {
			writeBlob(t, dir, d, data)
		}
		md := ManifestDigest(img.Manifest)
		writeBlob(t, dir, md, img.Manifest)
		manifests = append(manifests, map[string]any{
			"mediaType": mediaManifest, "digest": md, "size": len(img.Manifest),
			"platform": withPlatform(t, []byte("{}"), platform),
		})
	}
	index := marshal(t, map[string]any{
		"schemaVersion": 2, "mediaType": mediaIndex, "manifests": manifests,
	})
	id := ManifestDigest(index)
	writeBlob(t, dir, id, index)
	writeFile(t, filepath.Join(dir, "index.json"), marshal(t, map[string]any{
		"schemaVersion": 2,
		"manifests": []map[string]any{{
			"mediaType": mediaIndex, "digest": id, "size": len(index),
			"annotations": map[string]string{"org.opencontainers.image.ref.name": tag},
		}},
	}))
	return "oci:" + dir + ":" + tag
}

// Push uploads img to registry (host:port, plain HTTP) as repo:tag with the
// distribution API's monolithic uploads, and returns the manifest digest.
func Push(t testing.TB, registry, repo, tag string, img *Image) string {
	t.Helper()
	base := "http://" + registry + "/v2/" + repo
	for d, data := range img.Blobs {
		res := do(t, http.MethodPost, base+"/blobs/uploads/", "", nil)
		loc, err := res.Location()
		if err != nil {
			t.Fatalf("start upload to %s: %v", registry, err)
		}
		q := loc.Query()
		q.Set("digest", d)
		loc.RawQuery = q.Encode()
		do(t, http.MethodPut, loc.String(), "application/octet-stream", data)
	}
	do(t, http.MethodPut, base+"/manifests/"+tag, mediaManifest, img.Manifest)
	return ManifestDigest(img.Manifest)
}

// PushIndex uploads each image of imgs, keyed by platform ("linux/arm64"),
// and an OCI image index listing them to registry as repo:tag. It returns
// the index's digest.
func PushIndex(t testing.TB, registry, repo, tag string, imgs map[string]*Image) string {
	t.Helper()
	var manifests []map[string]any
	for platform, img := range imgs {
		d := Push(t, registry, repo, ManifestDigest(img.Manifest), img)
		manifests = append(manifests, map[string]any{
			"mediaType": mediaManifest, "digest": d, "size": len(img.Manifest),
			"platform": withPlatform(t, []byte("{}"), platform),
		})
	}
	index := marshal(t, map[string]any{
		"schemaVersion": 2, "mediaType": mediaIndex, "manifests": manifests,
	})
	do(t, http.MethodPut, "http://"+registry+"/v2/"+repo+"/manifests/"+tag, mediaIndex, index)
	return ManifestDigest(index)
}

// withPlatform returns the JSON object doc with platform's os,
// architecture and variant set.
func withPlatform(t testing.TB, doc []byte, platform string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(platform, "/", 3)
	if len(parts) < 2 {
		t.Fatalf("platform %q is not os/architecture[/variant]", platform)
	}
	m["os"], m["architecture"] = parts[0], parts[1]
	if len(parts) == 3 {
		m["variant"] = parts[2]
	}
	return m
}

// do sends one registry request and fails the test unless it succeeds.
func do(t testing.TB, method, url, contentType string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, url, res.Status, msg)
	}
	return res
}

// ManifestDigest returns the digest of data, as the layout names blobs.
func ManifestDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// writeBlob stores data in the layout under digest d.
func writeBlob(t testing.TB, dir, d string, data []byte) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "blobs/sha256", strings.TrimPrefix(d, "sha256:")), data)
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// InstalledPackages lists the packages installed in the root filesystem
// rootfs as dpkg-query itself reports them, the oracle a crawl is held
// against: "name arch version source-name source-version" lines, sorted.
func InstalledPackages(t testing.TB, rootfs string) []string {
	t.Helper()
	return DpkgQuery(t, filepath.Join(rootfs, "var/lib/dpkg"))
}

// DpkgQuery is [InstalledPackages] of the dpkg database directory
// admindir, which holds a status file.
func DpkgQuery(t testing.TB, admindir string) []string {
	t.Helper()
	out, err := exec.Command(Tool(t, "dpkg-query"), "--admindir="+admindir, "-W", "-f",
		"${db:Status-Status} ${Package} ${Architecture} ${Version} "+
			"${source:Package} ${source:Version}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	var lines []string
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, "installed "); ok {
			lines = append(lines, strings.TrimSpace(rest))
		}
	}
	slices.Sort(lines)
	return lines
}

// Env returns the environment variable name, which scripts/test.sh sets to
// a real component or the test images. When it is unset the test is
// skipped, or fails when CI is set, so that a green CI run means the real
// path ran.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set; scripts/test.sh sets it", name)
		}
		t.Skipf("%s is not set; run scripts/test.sh", name)
	}
	return v
}

// Images returns CRAWLSPACE_TEST_IMAGES, the directory
// scripts/build-test-images.sh fills, as [Env] does.
func Images(t testing.TB) string {
	t.Helper()
	return Env(t, "CRAWLSPACE_TEST_IMAGES")
}

// Tool returns the path of the program name, an oracle or a real
// component the test runs. When it is not installed the test is skipped,
// or fails when CI is set.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; scripts/test.sh installs it", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// FreeAddr returns a loopback host:port that nothing listened on a moment
// ago, for a server the test starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
