package crawler_test

import (
	"testing"
	"time"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/store/storetest"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// platformImage is a one-package image for platform, whose package
// version tells rebuilds apart.
func platformImage(t *testing.T, platform, version string) *ocitest.Image {
	t.Helper()
	cfg := ocitest.Config{Platform: platform, Runtime: map[string]any{"User": "0:0"}}
	return ocitest.BuildConfig(t, cfg, gzLayer(t,
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
	reg := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
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

// TestTagHistoryLateObservations observes a tag out of order, as
// redeliveries do: each observation lands in the stretch of its own time.
func TestTagHistoryLateObservations(t *testing.T) {
	reg := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	st := crawler.New(pool, b, crawler.Options{InsecureRegistries: []string{reg}})
	events := watchCrawled(t, b)
	repo := "late-" + randomName(t) + "/app"
	imgs := map[string]*ocitest.Image{}
	for _, v := range []string{"A", "B", "C"} {
		imgs[v] = platformImage(t, "linux/amd64", v)
	}
	at := func(hour int) time.Time { return time.Date(2026, 1, 1, hour, 0, 0, 0, time.UTC) }
	steps := []struct {
		image string
		hour  int
	}{
		{"A", 10}, {"B", 30}, // in order
		{"A", 20}, // late, inside A's stretch: extends it
		{"A", 5},  // before all history, A first: A starts earlier
		{"B", 25}, // late, just before B's stretch: B starts earlier
		{"C", 22}, // late, between: a stretch of its own
		{"B", 40}, // in order again
	}
	for _, s := range steps {
		ocitest.Push(t, reg, repo, "v1", imgs[s.image])
		named := &crawlspacev1.ImageNamed{Ref: "docker://" + reg + "/" + repo + ":v1",
			RunId: "run-" + randomName(t), NamedAt: timestamppb.New(at(s.hour))}
		handleViaBus(t, b, pool, st, named)
		nextCrawled(t, events)
	}

	rows, err := pool.Query(t.Context(), `
		SELECT digest, first_seen, last_seen FROM tag_observations ORDER BY first_seen`)
	if err != nil {
		t.Fatal(err)
	}
	type stretch struct {
		digest      string
		first, last time.Time
	}
	var got []stretch
	for rows.Next() {
		var s stretch
		if err := rows.Scan(&s.digest, &s.first, &s.last); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	d := func(v string) string { return ocitest.ManifestDigest(imgs[v].Manifest) }
	want := []stretch{
		{d("A"), at(5), at(20)},
		{d("C"), at(22), at(22)},
		{d("B"), at(25), at(40)},
	}
	if len(got) != len(want) {
		t.Fatalf("tag history %v, want %v", got, want)
	}
	for i := range want {
		if got[i].digest != want[i].digest || !got[i].first.Equal(want[i].first) ||
			!got[i].last.Equal(want[i].last) {
			t.Errorf("stretch %d = %v, want %v", i, got[i], want[i])
		}
	}
}
