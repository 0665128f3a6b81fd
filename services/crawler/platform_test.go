package crawler_test

import (
	"testing"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/store/storetest"
)

// platformImage is a one-package image for platform, whose package
// version tells rebuilds apart.
func platformImage(t *testing.T, platform, version string) *ocitest.Image {
	t.Helper()
	return ocitest.BuildPlatform(t, platform, "0:0", gzLayer(t,
		entry{Name: "etc/os-release", Body: osRelease},
		entry{Name: "var/lib/dpkg/status", Body: "Package: base-files\nStatus: install ok " +
			"installed\nArchitecture: all\nVersion: " + version + "\n\n"},
	))
}

// TestTagHistoryPerPlatform crawls every platform of a tag that names a
// manifest list, then again after the tag moved for one platform only:
// each platform keeps a history of its own, and the platform that did not
// move still has one stretch.
func TestTagHistoryPerPlatform(t *testing.T) {
	reg := testEnv(t, "CRAWLSPACE_TEST_REGISTRY", "it names the test registry (host:port)")
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	st := crawler.New(pool, b, crawler.Options{Platform: crawler.PlatformAll,
		InsecureRegistries: []string{reg}})
	events := watchCrawled(t, b)
	repo := "platforms-" + randomName(t) + "/app"
	ref := "docker://" + reg + "/" + repo + ":v1"

	arm := platformImage(t, "linux/arm64/v8", "1")
	amd1, amd2 := platformImage(t, "linux/amd64", "1"), platformImage(t, "linux/amd64", "2")
	for _, amd := range []*ocitest.Image{amd1, amd2} {
		ocitest.PushIndex(t, reg, repo, "v1",
			map[string]*ocitest.Image{"linux/amd64": amd, "linux/arm64/v8": arm})
		named := &crawlspacev1.ImageNamed{Ref: ref, RunId: "run-" + randomName(t)}
		handleViaBus(t, b, pool, st, named)
		for range 2 {
			nextCrawled(t, events)
		}
	}

	rows, err := pool.Query(t.Context(), `
		SELECT platform, digest FROM tag_observations ORDER BY platform, first_seen`)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for rows.Next() {
		var r [2]string
		if err := rows.Scan(&r[0], &r[1]); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"linux/amd64", ocitest.ManifestDigest(amd1.Manifest)},
		{"linux/amd64", ocitest.ManifestDigest(amd2.Manifest)},
		{"linux/arm64/v8", ocitest.ManifestDigest(arm.Manifest)},
	}
	if len(got) != len(want) {
		t.Fatalf("tag history %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tag history row %d = %v, want %v", i, got[i], want[i])
		}
	}
}
