package crawler_test

import (
	"testing"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/store/storetest"
)

// TestStoreUnstorablePaths stores an image whose file names are not text:
// bytes that are not UTF-8, and a NUL. Each is stored with U+FFFD in their
// place, and names that become one are stored once.
func TestStoreUnstorablePaths(t *testing.T) {
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	st := crawler.New(pool, b, crawler.Options{})
	ref := ocitest.Write(t, t.TempDir(), "v1", "0:0", gzLayer(t,
		entry{Name: "etc/os-release", Body: osRelease},
		entry{Name: "a\xff", Body: "1"},
		entry{Name: "a\xfe", Body: "2"},
		entry{Name: "a\uFFFD", Body: "3"},
		entry{Name: "b\xffc", Body: "4"},
	))
	events := watchCrawled(t, b)
	handleViaBus(t, b, pool, st, &crawlspacev1.ImageNamed{Ref: ref, RunId: "run-1"})
	nextCrawled(t, events)

	rows, err := pool.Query(t.Context(), `SELECT path FROM image_files ORDER BY path`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"/a\uFFFD", "/b\uFFFDc", "/etc/os-release"}
	if len(got) != len(want) {
		t.Fatalf("stored paths %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stored path %d = %q, want %q", i, got[i], want[i])
		}
	}
}
