package matcher

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"crawlspace.dev/services/matcher/version"
	"crawlspace.dev/services/platform/fixtures"
)

// osvRanges reads the ranges of the first affected entry of a real OSV
// record in the fixtures.
func osvRanges(t *testing.T, rel string) []Range {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Affected []struct {
			Ranges json.RawMessage `json:"ranges"`
		} `json:"affected"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Affected) == 0 {
		t.Fatalf("%s has no affected entry", rel)
	}
	rs, err := parseRanges(rec.Affected[0].Ranges)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// orders returns events as listed, reversed, and rotated by each step, so
// that a range is evaluated in orders OSV does not promise.
func orders(events []Event) [][]Event {
	out := [][]Event{events}
	rev := slices.Clone(events)
	slices.Reverse(rev)
	out = append(out, rev)
	for i := 1; i < len(events); i++ {
		out = append(out, append(slices.Clone(events[i:]), events[:i]...))
	}
	return out
}

// TestInRangeOSV evaluates real OSV records (several intervals, fixed and
// last_affected ones) in every order of their events, and with a limit
// event added, since no fixture record carries one.
func TestInRangeOSV(t *testing.T) {
	etcd := osvRanges(t, "notices/osv/go/GO-2026-6107.json")
	aiohttp := osvRanges(t, "notices/osv/pypi-pysec-json/PYSEC-2023-120.json")
	withLimit := func(rs []Range, limit string) []Range {
		r := rs[0]
		return []Range{{Type: r.Type, Events: append(slices.Clone(r.Events),
			Event{Limit: limit})}}
	}
	tests := []struct {
		name      string
		ecosystem string
		ranges    []Range
		installed string
		hit       bool
		fixed     string
	}{
		{"etcd first interval", "go", etcd, "v3.5.32", true, "3.5.33"},
		{"etcd at first fix", "go", etcd, "v3.5.33", false, ""},
		{"etcd between intervals", "go", etcd, "v3.5.40", false, ""},
		{"etcd second interval", "go", etcd, "v3.6.13", true, "3.6.14"},
		{"etcd third interval", "go", etcd, "v3.7.0", true, "3.7.1"},
		{"etcd after last fix", "go", etcd, "v3.7.1", false, ""},
		{"aiohttp at last affected", "pypi", aiohttp, "3.8.4", true, ""},
		{"aiohttp above last affected", "pypi", aiohttp, "3.8.5", false, ""},
		{"aiohttp second interval", "pypi", aiohttp, "4.0.1", true, ""},
		{"aiohttp between intervals", "pypi", aiohttp, "4.0.0", false, ""},
		{"limit cuts later interval", "go", withLimit(etcd, "3.6.0"), "v3.6.13", false, ""},
		{"limit keeps earlier interval", "go", withLimit(etcd, "3.6.0"), "v3.5.1", true,
			"3.5.33"},
		{"limit at version", "go", withLimit(etcd, "3.5.1"), "v3.5.1", false, ""},
		{"limit star", "go", withLimit(etcd, "*"), "v3.7.0", true, "3.7.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := version.For(tt.ecosystem)
			if !ok {
				t.Fatalf("no scheme for %s", tt.ecosystem)
			}
			for _, events := range orders(tt.ranges[0].Events) {
				hit, fixed, err := inRange(s, tt.installed, events)
				if err != nil {
					t.Fatal(err)
				}
				if hit != tt.hit || fixed != tt.fixed {
					t.Errorf("events %+v: got (%v, %q), want (%v, %q)", events, hit, fixed,
						tt.hit, tt.fixed)
				}
			}
		})
	}
}

// TestInRangeBadEvent checks that an event without a version and a
// version the ecosystem cannot order are errors, not answers.
func TestInRangeBadEvent(t *testing.T) {
	s, _ := version.For("go")
	for _, events := range [][]Event{
		{{Introduced: "0"}, {}},
		{{Introduced: "0"}, {Fixed: "not a version"}, {Introduced: "v1.2.0"}},
	} {
		if _, _, err := inRange(s, "v1.0.0", events); err == nil {
			t.Errorf("events %+v: no error", events)
		}
	}
}
