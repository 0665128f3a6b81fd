package crawler

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/internal/ocitest"
)

// TestFeaturesCodec checks that the layer cache's encoding is zstd over
// exactly what json.Marshal writes, so that rows stored by earlier
// crawlers stay valid and new rows match them, and that it decodes back
// to what was encoded.
func TestFeaturesCodec(t *testing.T) {
	scanned, err := newPlan(CrawlOptions{}).scanLayer(t.Context(), bytes.NewReader(ocitest.Tar(t,
		ocitest.Entry{Name: "etc/", Mode: 0o755},
		ocitest.Entry{Name: "etc/os-release", Body: "ID=debian\n"},
		ocitest.Entry{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n", UID: 1 << 40},
		ocitest.Entry{Name: "etc/empty.conf", Body: "", Mode: 0o4755},
		ocitest.Entry{Name: "bin/sh", Type: tar.TypeSymlink, Link: "../usr/bin/<dash>"},
		ocitest.Entry{Name: "usr/bin/x", Type: tar.TypeLink, Link: "etc/passwd"},
		ocitest.Entry{Name: "dev/null", Type: tar.TypeChar, Mode: 0o666},
		ocitest.Entry{Name: "var/.wh.gone"},
		ocitest.Entry{Name: "opt/.wh..wh..opq"},
		ocitest.Entry{Name: "var/lib/dpkg/status", Body: "Package: a\nVersion: 1\n" +
			"Architecture: all\nStatus: install ok installed\n"},
	)), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    *features
	}{
		{"scanned layer", scanned},
		{"no entries", &features{FS: &imagefs.Layer{Bytes: 1024}}},
		{"empty entries", &features{FS: &imagefs.Layer{Entries: []imagefs.Entry{}},
			Packages: []Package{{Name: "<a&b>\u2028", Path: "/x"}}}},
		{"odd entries", &features{FS: &imagefs.Layer{Entries: []imagefs.Entry{
			{Path: "/\xff", File: imagefs.Meta{Type: imagefs.KindFile, UID: -1}},
			{Path: "/c", Content: []byte{}, Captured: true},
		}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeFeatures(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zstd.NewReader(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			plain, err := zr.DecodeAll(got, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(plain, js) {
				t.Errorf("encodeFeatures wrote %s\nwant json.Marshal's %s", plain, js)
			}
			back, err := decodeFeatures(got)
			if err != nil {
				t.Fatal(err)
			}
			var want features
			if err := json.Unmarshal(js, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want, back); diff != "" {
				t.Errorf("decodeFeatures (-json.Unmarshal +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeFeaturesRejects checks that a cache entry without entries does
// not decode, so that its layer is read again.
func TestDecodeFeaturesRejects(t *testing.T) {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	for _, js := range []string{`{}`, `{"fs":null}`, `{"fs":{"e":[{"p":1}]}}`, `[`,
		`{"fs":{"e":[{"p":"/a","f":{"type":"socket"}}]}}`} {
		t.Run(js, func(t *testing.T) {
			if _, err := decodeFeatures(zw.EncodeAll([]byte(js), nil)); err == nil {
				t.Errorf("decodeFeatures(%s) succeeded", js)
			}
		})
	}
}
