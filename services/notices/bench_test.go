package notices_test

import (
	"testing"

	"crawlspace.dev/services/notices"
	"crawlspace.dev/services/platform/fixtures"
)

// benchFeeds are the DSA and DLA lists and the tracker JSON excerpts, whose
// 16 CVE entries name 14 distinct CVEs.
var benchFeeds = []struct{ source, rel string }{
	{"debian-dsa", "notices/debian/DSA-list"},
	{"debian-dla", "notices/debian/DLA-list"},
	{"debian-tracker", "notices/debian/tracker-json"},
}

// BenchmarkSync measures a full sync of the feeds into an empty database
// and a second sync of the unchanged feeds, against real PostgreSQL and
// NATS.
func BenchmarkSync(b *testing.B) {
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			st := benchStage(b)
			b.StartTimer()
			syncAll(b, st, 5406+3534+14)
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		st := benchStage(b)
		syncAll(b, st, 5406+3534+14)
		b.ResetTimer()
		for b.Loop() {
			syncAll(b, st, 0)
		}
	})
}

func benchStage(b *testing.B) *notices.Stage {
	b.Helper()
	e := newEnv(b)
	return notices.New(e.pool, e.bus, notices.Options{Logger: discard})
}

func syncAll(b *testing.B, st *notices.Stage, wantNew int) {
	b.Helper()
	got := 0
	for _, f := range benchFeeds {
		res, err := st.Sync(b.Context(), f.source, fixtures.Path(b, f.rel))
		if err != nil {
			b.Fatal(err)
		}
		got += res.New + res.Changed
	}
	if got != wantNew {
		b.Fatalf("%d notices written, want %d", got, wantNew)
	}
}
