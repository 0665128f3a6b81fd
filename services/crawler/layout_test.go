package crawler_test

import (
	"archive/tar"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/internal/ocitest"
)

type entry = ocitest.Entry

const osRelease = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n" +
	"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"

// gzLayer is a gzip layer of entries, labelled as such.
func gzLayer(t *testing.T, entries ...entry) ocitest.Layer {
	t.Helper()
	return ocitest.Layer{MediaType: ocitest.MediaTarGzip,
		Blob: ocitest.Gzip(t, ocitest.Tar(t, entries...))}
}

// crawlLayout writes an OCI layout of layers and crawls it.
func crawlLayout(t *testing.T, layers ...ocitest.Layer) (*crawler.Image, error) {
	t.Helper()
	ref := ocitest.Write(t, t.TempDir(), "test", "1000:1000", layers...)
	return crawler.Crawl(t.Context(), ref, crawler.CrawlOptions{})
}

// fileMap keys an image's files by path, as "type link" strings.
func fileMap(img *crawler.Image) map[string]string {
	m := make(map[string]string, len(img.Files))
	for _, f := range img.Files {
		m[f.Path] = strings.TrimSpace(string(f.Type) + " " + f.Link)
	}
	return m
}

func TestCrawlLayouts(t *testing.T) {
	tests := []struct {
		name   string
		layers func(t *testing.T) []ocitest.Layer
		// files is the whole merged view, path to "type link".
		files map[string]string
		// config is the captured config files.
		config map[string]string
		osID   string
	}{{
		name: "whiteouts",
		layers: func(t *testing.T) []ocitest.Layer {
			return []ocitest.Layer{
				gzLayer(t, entry{Name: "etc/"}, entry{Name: "etc/motd", Body: "hi"},
					entry{Name: "etc/sub/"}, entry{Name: "etc/sub/x"},
					entry{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n"}),
				gzLayer(t, entry{Name: "etc/.wh.motd"}, entry{Name: "etc/.wh.sub"},
					// A whiteout hides lower layers only: passwd comes back.
					entry{Name: "etc/.wh.passwd"},
					entry{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/bash\n"}),
			}
		},
		files:  map[string]string{"/etc": "dir", "/etc/passwd": "file"},
		config: map[string]string{"/etc/passwd": "root:x:0:0::/root:/bin/bash\n"},
	}, {
		name: "opaque directory",
		layers: func(t *testing.T) []ocitest.Layer {
			return []ocitest.Layer{
				gzLayer(t, entry{Name: "d/"}, entry{Name: "d/old"}, entry{Name: "d/sub/"},
					entry{Name: "d/sub/y"}, entry{Name: "keep"}),
				gzLayer(t, entry{Name: "d/"}, entry{Name: "d/.wh..wh..opq"},
					entry{Name: "d/new"}, entry{Name: "d/sub/z"}),
			}
		},
		files: map[string]string{"/d": "dir", "/d/new": "file", "/d/sub/z": "file",
			"/keep": "file"},
		config: map[string]string{},
	}, {
		name: "symlinks escaping the root",
		layers: func(t *testing.T) []ocitest.Layer {
			return []ocitest.Layer{gzLayer(t,
				entry{Name: "usr/lib/os-release", Body: osRelease},
				entry{Name: "etc/os-release", Type: tar.TypeSymlink,
					Link: "../../../../../usr/lib/os-release"},
				// Resolves to itself inside the root, never to the host's.
				entry{Name: "etc/passwd", Type: tar.TypeSymlink, Link: "../../../etc/passwd"},
				entry{Name: "etc/ssh/sshd_config", Type: tar.TypeSymlink,
					Link: "/../../usr/lib/os-release"},
			)}
		},
		files: map[string]string{
			"/usr/lib/os-release":  "file",
			"/etc/os-release":      "symlink ../../../../../usr/lib/os-release",
			"/etc/passwd":          "symlink ../../../etc/passwd",
			"/etc/ssh/sshd_config": "symlink /../../usr/lib/os-release",
		},
		config: map[string]string{"/etc/os-release": osRelease,
			"/usr/lib/os-release": osRelease, "/etc/ssh/sshd_config": osRelease},
		osID: "debian",
	}, {
		name: "absolute and dot-dot entry names",
		layers: func(t *testing.T) []ocitest.Layer {
			return []ocitest.Layer{gzLayer(t,
				entry{Name: "../../etc/passwd", Body: "root:x:0:0::/:/bin/sh\n"},
				entry{Name: "/etc/shadow", Body: "root:$6$salt$hash:19000::::::\n"},
				entry{Name: "./a/../../b/./c", Body: "c"},
			)}
		},
		files: map[string]string{"/etc/passwd": "file", "/etc/shadow": "file",
			"/b/c": "file"},
		config: map[string]string{"/etc/passwd": "root:x:0:0::/:/bin/sh\n",
			"/etc/shadow": "root:<hashed>:19000::::::\n"},
	}, {
		name: "hard links",
		layers: func(t *testing.T) []ocitest.Layer {
			return []ocitest.Layer{
				gzLayer(t, entry{Name: "usr/lib/os-release", Body: osRelease}),
				gzLayer(t, entry{Name: "etc/os-release", Type: tar.TypeLink,
					Link: "usr/lib/os-release"},
					entry{Name: "etc/dangling", Type: tar.TypeLink, Link: "nowhere"}),
			}
		},
		files: map[string]string{"/usr/lib/os-release": "file",
			"/etc/os-release": "hardlink /usr/lib/os-release",
			"/etc/dangling":   "hardlink /nowhere"},
		config: map[string]string{"/etc/os-release": osRelease,
			"/usr/lib/os-release": osRelease},
		osID: "debian",
	}, {
		name: "symlink loops",
		layers: func(t *testing.T) []ocitest.Layer {
			return []ocitest.Layer{gzLayer(t,
				entry{Name: "etc/passwd", Type: tar.TypeSymlink, Link: "shadow"},
				entry{Name: "etc/shadow", Type: tar.TypeSymlink, Link: "/etc/passwd"},
				entry{Name: "a", Type: tar.TypeSymlink, Link: "b"},
				entry{Name: "b", Type: tar.TypeSymlink, Link: "a"},
				// A parent that loops is replaced by a directory.
				entry{Name: "a/x", Body: "x"},
			)}
		},
		files: map[string]string{"/etc/passwd": "symlink shadow",
			"/etc/shadow": "symlink /etc/passwd", "/a/x": "file", "/b": "symlink a"},
		config: map[string]string{},
	}, {
		name: "uncompressed layer labelled gzip",
		layers: func(t *testing.T) []ocitest.Layer {
			return []ocitest.Layer{{MediaType: ocitest.MediaTarGzip, Blob: ocitest.Tar(t,
				entry{Name: "etc/os-release", Body: osRelease})}}
		},
		files:  map[string]string{"/etc/os-release": "file"},
		config: map[string]string{"/etc/os-release": osRelease},
		osID:   "debian",
	}, {
		name: "zstd layer labelled plain tar",
		layers: func(t *testing.T) []ocitest.Layer {
			return []ocitest.Layer{{MediaType: ocitest.MediaTar, Blob: ocitest.Zstd(t,
				ocitest.Tar(t, entry{Name: "etc/os-release", Body: osRelease}))}}
		},
		files:  map[string]string{"/etc/os-release": "file"},
		config: map[string]string{"/etc/os-release": osRelease},
		osID:   "debian",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := crawlLayout(t, tt.layers(t)...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.files, fileMap(img)); diff != "" {
				t.Errorf("files mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.config, img.ConfigFiles); diff != "" {
				t.Errorf("config files mismatch (-want +got):\n%s", diff)
			}
			if img.OS.ID != tt.osID {
				t.Errorf("OS ID = %q, want %q", img.OS.ID, tt.osID)
			}
		})
	}
}

func TestCrawlFileAttributes(t *testing.T) {
	first := gzLayer(t,
		entry{Name: "usr/bin/su", Body: "elf", Mode: 0o4755, UID: 0, GID: 0},
		entry{Name: "tmp/", Mode: 0o1777},
		entry{Name: "usr/bin/wall", Body: "elf!", Mode: 0o2755, GID: 5},
		entry{Name: "dev/null", Type: tar.TypeChar, Mode: 0o666},
		entry{Name: "dev/sda", Type: tar.TypeBlock, Mode: 0o660, GID: 6},
		entry{Name: "run/fifo", Type: tar.TypeFifo, Mode: 0o600, UID: 1000, GID: 1000},
	)
	second := gzLayer(t, entry{Name: "usr/bin/wall", Body: "newer", Mode: 0o755})
	img, err := crawlLayout(t, first, second)
	if err != nil {
		t.Fatal(err)
	}
	l1, l2 := img.Layers[0].Digest, img.Layers[1].Digest
	f := func(p string, typ imagefs.Type, mode int64, uid, gid int, size int64,
		layer string) imagefs.File {
		return imagefs.File{Path: p, Type: typ, Mode: mode, UID: uid, GID: gid, Size: size,
			Layer: layer}
	}
	want := []imagefs.File{
		f("/dev/null", imagefs.TypeChar, 0o666, 0, 0, 0, l1),
		f("/dev/sda", imagefs.TypeBlock, 0o660, 0, 6, 0, l1),
		f("/run/fifo", imagefs.TypeFifo, 0o600, 1000, 1000, 0, l1),
		f("/tmp", imagefs.TypeDir, 0o1777, 0, 0, 0, l1),
		f("/usr/bin/su", imagefs.TypeFile, 0o4755, 0, 0, 3, l1),
		f("/usr/bin/wall", imagefs.TypeFile, 0o755, 0, 0, 5, l2),
	}
	if diff := cmp.Diff(want, img.Files); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
	if len(img.Layers) != 2 || img.Layers[0].MediaType != ocitest.MediaTarGzip ||
		img.Layers[0].Size != int64(len(first.Blob)) {
		t.Errorf("layers = %+v", img.Layers)
	}
	if img.Created == nil || img.Created.Year() != 2024 || img.Architecture != "amd64" {
		t.Errorf("created %v, architecture %q", img.Created, img.Architecture)
	}
}

func TestCrawlErrors(t *testing.T) {
	gz := ocitest.Gzip(t, ocitest.Tar(t, entry{Name: "etc/passwd", Body: strings.Repeat(
		"user:x:1000:1000::/home/user:/bin/sh\n", 3000)}))
	tests := []struct {
		name      string
		ref       func(t *testing.T) string
		permanent bool
		contains  string
	}{{
		name: "truncated gzip layer",
		ref: func(t *testing.T) string {
			return ocitest.Write(t, t.TempDir(), "x", "", ocitest.Layer{
				MediaType: ocitest.MediaTarGzip, Blob: gz[:len(gz)/2]})
		},
		permanent: true,
		contains:  "unexpected EOF",
	}, {
		name: "layer bytes not matching the digest",
		ref: func(t *testing.T) string {
			return ocitest.Write(t, t.TempDir(), "x", "", ocitest.Layer{
				MediaType: ocitest.MediaTarGzip, Blob: gz,
				Digest: ocitest.ManifestDigest([]byte("something else"))})
		},
		permanent: false,
		contains:  "does not match its digest",
	}, {
		name: "captured file over its limit",
		ref: func(t *testing.T) string {
			big := strings.Repeat("a", crawler.MaxConfigFileSize+1)
			return ocitest.Write(t, t.TempDir(), "x", "", gzLayer(t,
				entry{Name: "etc/ssh/sshd_config", Body: big}))
		},
		permanent: true,
		contains:  "captured file too large",
	}, {
		name: "tag not in layout",
		ref: func(t *testing.T) string {
			ref := ocitest.Write(t, t.TempDir(), "x", "", gzLayer(t, entry{Name: "a"}))
			return strings.TrimSuffix(ref, ":x") + ":missing"
		},
		permanent: true,
		contains:  "image not found",
	}, {
		name:      "no such archive",
		ref:       func(t *testing.T) string { return "docker-archive:" + t.TempDir() + "/no.tar" },
		permanent: true,
		contains:  "image not found",
	}, {
		name:      "unparsable reference",
		ref:       func(t *testing.T) string { return "docker://Upper/Case:tag" },
		permanent: true,
		contains:  "invalid image reference",
	}, {
		name:      "unreachable registry",
		ref:       func(t *testing.T) string { return "docker://127.0.0.1:1/x:y" },
		permanent: false,
		contains:  "connection refused",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := crawler.CrawlOptions{InsecureRegistries: []string{"127.0.0.1:1"}}
			_, err := crawler.Crawl(t.Context(), tt.ref(t), opts)
			if err == nil {
				t.Fatal("Crawl succeeded, want an error")
			}
			if got := crawler.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", got, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
		})
	}
}

func TestCrawlRegistryNotFound(t *testing.T) {
	reg := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	opts := crawler.CrawlOptions{InsecureRegistries: []string{reg}}
	for _, ref := range []string{
		"docker://" + reg + "/crawlspace/no-such-repo:latest",
		"docker://" + reg + "/test/debian:no-such-tag",
	} {
		t.Run(ref, func(t *testing.T) {
			_, err := crawler.Crawl(t.Context(), ref, opts)
			if !errors.Is(err, crawler.ErrNotFound) {
				t.Errorf("Crawl(%s) = %v, want ErrNotFound", ref, err)
			}
		})
	}
}

func TestCrawlReportsProgress(t *testing.T) {
	first := gzLayer(t, entry{Name: "etc/hostname", Body: "box\n"})
	second := gzLayer(t, entry{Name: "srv/data", Body: strings.Repeat("x", 1<<16)})
	ref := ocitest.Write(t, t.TempDir(), "test", "1000:1000", first, second)
	last := map[int]crawler.Progress{}
	img, err := crawler.Crawl(t.Context(), ref, crawler.CrawlOptions{
		Progress: func(p crawler.Progress) {
			if prev, ok := last[p.Layer]; ok && p.Read < prev.Read {
				t.Errorf("layer %d went back from %d to %d bytes", p.Layer, prev.Read, p.Read)
			}
			last[p.Layer] = p
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range img.Layers {
		p := last[i+1]
		if p.Layers != 2 || p.Digest != l.Digest || p.Size != l.Size || p.Read != l.Size {
			t.Errorf("layer %d: last progress %+v, want all %d bytes of %s", i+1, p, l.Size,
				l.Digest)
		}
	}
}
