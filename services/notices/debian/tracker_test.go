package debian_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/debian"
)

func parseTracker(t testing.TB, name string) map[string]advisory.Notice {
	t.Helper()
	data, err := os.ReadFile(fixtures(t, "tracker-json/"+name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := debian.ParseTracker(data, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Malformed) != 0 {
		t.Fatalf("malformed: %v", f.Malformed)
	}
	byID := map[string]advisory.Notice{}
	for _, n := range f.Notices {
		byID[n.ID] = n
	}
	return byID
}

// TestParseTrackerCounts checks counts taken from the excerpts
// independently: CVEs, (release, package) rows and their statuses.
func TestParseTrackerCounts(t *testing.T) {
	tests := []struct {
		file     string
		notices  int
		statuses map[advisory.Status]int
	}{
		{"vuln-list-update-debian.json", 3,
			map[advisory.Status]int{"fixed": 10, "not-affected": 5}},
		// 10 resolved, 8 open, all 8 open rows with a no-dsa note.
		{"vulnerablecode-debian.json", 6,
			map[advisory.Status]int{"fixed": 10, "deferred": 8}},
		// chromium-browser's CVE-2022-0358 has releases: [] and no rows.
		{"vunnel-debian.json", 7, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			byID := parseTracker(t, tt.file)
			got := map[advisory.Status]int{}
			for _, n := range byID {
				for _, a := range n.Affected {
					got[a.Status]++
				}
			}
			if len(byID) != tt.notices {
				t.Errorf("%d notices, want %d", len(byID), tt.notices)
			}
			if tt.statuses != nil {
				if diff := cmp.Diff(tt.statuses, got); diff != "" {
					t.Errorf("statuses (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestParseTrackerNotices(t *testing.T) {
	byID := parseTracker(t, "vunnel-debian.json")
	n := byID["DEBIAN-CVE-2007-2383"]
	if n.Severity != "unimportant" || n.Source != "debian-tracker" ||
		n.URL != "https://security-tracker.debian.org/tracker/CVE-2007-2383" {
		t.Errorf("notice %+v", n)
	}
	for _, a := range n.Affected {
		if a.Status != advisory.StatusNotAffected || a.FixedVersion != "" ||
			a.Package != "prototypejs" {
			t.Errorf("fixed_version 0 row %+v, want not-affected", a)
		}
	}
	n = byID["DEBIAN-CVE-2008-7220"]
	want := advisory.Affected{Ecosystem: "dpkg", Release: "buster", Package: "prototypejs",
		Status: advisory.StatusFixed, FixedVersion: "1.6.0.2-1"}
	if len(n.Affected) != 4 || !cmp.Equal(want, n.Affected[0]) || n.Severity != "high**" {
		t.Errorf("DEBIAN-CVE-2008-7220: %+v", n)
	}
	if len(byID["DEBIAN-CVE-2022-0358"].Affected) != 0 {
		t.Error("CVE-2022-0358 with releases [] has rows")
	}
}

func TestParseTrackerStatuses(t *testing.T) {
	doc := `{"p": {"CVE-1": {"releases": {
		"a": {"status": "open", "nodsa": "Minor issue", "nodsa_reason": "ignored"},
		"b": {"status": "open", "nodsa": "x", "nodsa_reason": "postponed"},
		"c": {"status": "open"},
		"d": {"status": "undetermined"},
		"e": {"status": "resolved"},
		"f": {"status": "resolved", "fixed_version": "1:2.0-1", "urgency": "medium"}}}}}`
	f, err := debian.ParseTracker([]byte(doc), "doc")
	if err != nil || len(f.Notices) != 1 {
		t.Fatalf("ParseTracker = %v, %v", err, f.Malformed)
	}
	got := map[string]string{}
	for _, a := range f.Notices[0].Affected {
		got[a.Release] = string(a.Status) + " " + a.FixedVersion
	}
	want := map[string]string{"a": "will-not-fix ", "b": "deferred ", "c": "unfixed ",
		"d": "undetermined ", "e": "undetermined ", "f": "fixed 1:2.0-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if f.Undetermined != 2 {
		t.Errorf("undetermined %d, want 2", f.Undetermined)
	}
	if _, err := debian.ParseTracker([]byte(`[]`), "bad"); err == nil {
		t.Error("ParseTracker of a list succeeded")
	}
	bad := `{"p": {"CVE-1": {"releases": {"a": 1}}}, "q": {"CVE-2": {"releases": {}}}}`
	if f, err := debian.ParseTracker([]byte(bad), "bad"); err != nil || len(f.Malformed) != 1 {
		t.Errorf("ParseTracker = %v, %d malformed; want 1", err, len(f.Malformed))
	}
}

func FuzzParseTracker(f *testing.F) {
	for _, name := range []string{"vuln-list-update-debian.json", "vulnerablecode-debian.json",
		"vunnel-debian.json"} {
		data, err := os.ReadFile(fixtures(f, "tracker-json/"+name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := debian.ParseTracker(data, "fuzz")
		if err != nil {
			return
		}
		for _, n := range feed.Notices {
			if err := n.Validate(); err != nil {
				t.Fatalf("parsed notice does not validate: %v", err)
			}
		}
	})
}
