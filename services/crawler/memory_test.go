package crawler_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/internal/ocitest"
)

// maxCrawlRSS is the most resident memory a crawl of any image may need.
const maxCrawlRSS = 256 << 20

// envMemoryRef tells the test binary, run again as a child, to crawl one
// image in [TestCrawlMemoryChild]; envMemoryFiles, when set, is the
// child's [crawler.Limits] ImageFiles.
const (
	envMemoryRef   = "CRAWLSPACE_MEMORY_TEST_REF"
	envMemoryFiles = "CRAWLSPACE_MEMORY_TEST_FILES"
)

// fileLimit is the default file limit, which the memory test crawls up
// to. A merged file of a one-layer image of small files costs about 450
// bytes of peak RSS over the 30 MiB any crawl takes, so this many fit in
// [maxCrawlRSS] with room for a package database besides.
const fileLimit = crawler.MaxImageFiles

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// member is one tar member of a streamed layer: size bytes of zeros after
// head, or a directory.
type member struct {
	name string
	head string
	size int64
	mode int64
}

// streamLayer writes a gzip tar layer of members without holding their
// content, so that a layer of gigabytes costs the test only its
// compressed size.
func streamLayer(t *testing.T, members ...member) ocitest.Layer {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, m := range members {
		hdr := &tar.Header{Name: m.name, Typeflag: tar.TypeReg, Size: m.size,
			Mode: max(m.mode, 0o644), ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, m.head); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(tw, zeros{}, m.size-int64(len(m.head))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return ocitest.Layer{MediaType: ocitest.MediaTarGzip, Blob: buf.Bytes()}
}

// hugePAXLayer is a layer whose one member has a 2 MiB PAX path record,
// which tar writers refuse to write: a file of that content whose type
// flag is then patched to a PAX extended header.
func hugePAXLayer(t *testing.T) ocitest.Layer {
	t.Helper()
	path := strings.Repeat("a/", 1<<20) + "x"
	record := fmt.Sprintf("path=%s\n", path)
	record = fmt.Sprintf("%d %s", len(record)+8, record)
	data := ocitest.Tar(t, entry{Name: "pax", Body: record}, entry{Name: "x", Body: "x"})
	patchType(data[:512], tar.TypeXHeader)
	return ocitest.Layer{MediaType: ocitest.MediaTarGzip, Blob: ocitest.Gzip(t, data)}
}

// manyFiles returns n small files spread over directories.
func manyFiles(n int) []member {
	out := make([]member, n)
	for i := range out {
		out[i] = member{name: fmt.Sprintf("srv/d%03d/f%06d.txt", i%1000, i), size: 16}
	}
	return out
}

// TestCrawlMemoryBounded crawls hostile images in a child process and
// asserts from the kernel's record of its peak resident set that each
// crawl stays under maxCrawlRSS, whether it succeeds or ends at a limit.
func TestCrawlMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds layers of gigabytes")
	}
	const gib = 1 << 30
	elf := "\x7fELF\x02\x01\x01\x00"
	tests := []struct {
		name    string
		layers  []ocitest.Layer
		files   int
		wantErr string
	}{
		{"gzip bomb of huge files", []ocitest.Layer{streamLayer(t,
			member{name: "data/zeros.bin", size: 2 * gib},
			member{name: "usr/bin/huge", head: elf, size: gib / 2, mode: 0o755},
			member{name: "opt/app/huge.jar", head: "PK\x03\x04", size: gib / 2},
			member{name: "usr/lib/python3/dist-packages/x-1.dist-info/METADATA",
				size: gib / 4},
		)}, 0, ""},
		{"huge package database", []ocitest.Layer{streamLayer(t,
			member{name: "var/lib/dpkg/status", size: gib})}, 0, "too large"},
		// As many files as the limit allows, each merged and listed.
		{"many files", []ocitest.Layer{streamLayer(t, manyFiles(fileLimit)...)},
			fileLimit, ""},
		{"more files than the limit", []ocitest.Layer{
			streamLayer(t, manyFiles(fileLimit+1)...)}, fileLimit,
			fmt.Sprintf("more than %d files", fileLimit)},
		{"huge pax header", []ocitest.Layer{hugePAXLayer(t)}, 0, "unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := ocitest.Write(t, t.TempDir(), "hostile", "0:0", tt.layers...)
			out, rss := crawlInChild(t, ref, tt.files)
			t.Logf("peak RSS %d MiB: %s", rss>>20, out)
			if rss <= 0 || rss >= maxCrawlRSS {
				t.Errorf("peak RSS %d MiB, want under %d MiB", rss>>20, maxCrawlRSS>>20)
			}
			switch {
			case tt.wantErr == "" && !strings.HasPrefix(out, "ok "):
				t.Errorf("crawl: %s, want success", out)
			case tt.wantErr != "" && !strings.Contains(out, tt.wantErr):
				t.Errorf("crawl: %s, want an error with %q", out, tt.wantErr)
			}
		})
	}
}

// crawlInChild crawls ref in a child run of this test binary, under a
// file limit of files unless that is 0, and returns what it printed and
// its peak resident set in bytes, as the child read VmHWM from
// /proc/self/status after its crawl. (The rusage of a child would not do:
// the kernel carries the forking parent's peak into it.)
func crawlInChild(t *testing.T, ref string, files int) (string, int64) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrawlMemoryChild$",
		"-test.v")
	cmd.Env = append(os.Environ(), envMemoryRef+"="+ref,
		fmt.Sprintf("%s=%d", envMemoryFiles, files))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child crawl: %v\n%s", err, out)
	}
	var result string
	var kib int64 = -1
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, "result: "); ok {
			result = strings.TrimSpace(rest)
		}
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			if _, err := fmt.Sscan(rest, &kib); err != nil {
				t.Fatalf("child's VmHWM %q: %v", rest, err)
			}
		}
	}
	if result == "" || kib < 0 {
		t.Fatalf("child printed no result or no VmHWM:\n%s", out)
	}
	return result, kib << 10
}

// memCache is a [crawler.LayerCache] in memory, so that a child crawl
// encodes each layer's features for the cache as a crawl by the stage
// does.
type memCache struct {
	mu     sync.Mutex
	layers map[string][]byte
}

func (c *memCache) GetLayers(_ context.Context, key string,
	digests []string) (map[string][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]byte)
	for _, d := range digests {
		if data, ok := c.layers[key+" "+d]; ok {
			out[d] = data
		}
	}
	return out, nil
}

func (c *memCache) PutLayer(_ context.Context, key, digest string, features []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.layers == nil {
		c.layers = make(map[string][]byte)
	}
	c.layers[key+" "+digest] = features
	return nil
}

// TestCrawlMemoryChild is the child of [TestCrawlMemoryBounded]; run
// otherwise, it does nothing. It crawls with a [memCache].
func TestCrawlMemoryChild(t *testing.T) {
	ref := os.Getenv(envMemoryRef)
	if ref == "" {
		t.Skip("run by TestCrawlMemoryBounded only")
	}
	files, err := strconv.Atoi(os.Getenv(envMemoryFiles))
	if err != nil {
		t.Fatalf("%s: %v", envMemoryFiles, err)
	}
	img, err := crawler.Crawl(t.Context(), ref, crawler.CrawlOptions{Cache: &memCache{},
		Limits: crawler.Limits{ImageFiles: files}})
	status, serr := os.ReadFile("/proc/self/status")
	if serr != nil {
		t.Fatal(serr)
	}
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Print(line)
		}
	}
	if err != nil {
		fmt.Printf("result: error %v\n", err)
		return
	}
	fmt.Printf("result: ok %d files %d packages\n", len(img.Files), len(img.Packages))
}
