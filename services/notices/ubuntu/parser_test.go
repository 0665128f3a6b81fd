package ubuntu_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/ubuntu"
	"crawlspace.dev/services/platform/fixtures"
)

func read(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, "notices/ubuntu/"+rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var ignoreRanges = cmpopts.IgnoreFields(advisory.Affected{}, "Ranges")

func TestParseUSN(t *testing.T) {
	f := ubuntu.ParseOSV(read(t, "osv/USN-5614-1.json"), "USN-5614-1", ubuntu.SourceUSN)
	if len(f.Notices) != 1 {
		t.Fatalf("malformed: %v", f.Malformed)
	}
	n := f.Notices[0]
	want := []advisory.Affected{
		{Ecosystem: "dpkg", Release: "bionic", Package: "wayland",
			Status: advisory.StatusFixed, FixedVersion: "1.16.0-1ubuntu1.1~18.04.4"},
		{Ecosystem: "dpkg", Release: "focal", Package: "wayland",
			Status: advisory.StatusFixed, FixedVersion: "1.18.0-1ubuntu0.1"},
		{Ecosystem: "dpkg", Release: "jammy", Package: "wayland",
			Status: advisory.StatusFixed, FixedVersion: "1.20.0-1ubuntu0.1"},
	}
	if diff := cmp.Diff(want, n.Affected, ignoreRanges); diff != "" {
		t.Errorf("affected (-want +got):\n%s", diff)
	}
	bins := slices.Compact(slices.Sorted(slices.Values(n.Packages)))
	if len(n.Packages) != 15 || len(bins) != 5 || bins[0] != "libwayland-bin" {
		t.Errorf("binaries %v, want 5 per release", n.Packages)
	}
	if n.URL != "https://ubuntu.com/security/notices/USN-5614-1" ||
		!slices.Equal(n.CVEs, []string{"CVE-2021-3782"}) {
		t.Errorf("notice %+v", n)
	}
}

// TestParseCVE reads the 14 UBUNTU-CVE records: Pro (ESM) entries are
// skipped, entries with no fixed event are unfixed.
func TestParseCVE(t *testing.T) {
	var notices []advisory.Notice
	var skipped int
	for _, dir := range []string{"osv-cve", "osv-esm-cve"} {
		paths, _ := filepath.Glob(filepath.Join(fixtures.Path(t, "notices/ubuntu/"+dir), "*"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f := ubuntu.ParseOSV(data, p, ubuntu.SourceCVE)
			if len(f.Malformed) > 0 {
				t.Fatalf("malformed: %v", f.Malformed)
			}
			notices = append(notices, f.Notices...)
			skipped += f.Skipped
		}
	}
	byID := map[string]advisory.Notice{}
	statuses := map[advisory.Status]int{}
	for _, n := range notices {
		byID[n.ID] = n
		for _, a := range n.Affected {
			statuses[a.Status]++
		}
	}
	if len(byID) != 14 {
		t.Fatalf("%d records, want 14", len(byID))
	}
	big := byID["UBUNTU-CVE-2016-20013"]
	if len(big.Affected) != 22 || big.Severity != "negligible" {
		t.Errorf("UBUNTU-CVE-2016-20013: %d rows, severity %q; want the 22 non-Pro of 30",
			len(big.Affected), big.Severity)
	}
	for _, a := range big.Affected {
		if a.Status != advisory.StatusUnfixed || a.FixedVersion != "" {
			t.Errorf("UBUNTU-CVE-2016-20013 %s %s: %s, want unfixed", a.Release, a.Package,
				a.Status)
		}
	}
	if a := byID["UBUNTU-CVE-2022-24823"].Affected; len(a) != 1 || a[0].Release != "questing" {
		t.Errorf("UBUNTU-CVE-2022-24823 rows %+v, want only Ubuntu:25.10", a)
	}
	if skipped == 0 || statuses[advisory.StatusFixed] == 0 ||
		statuses[advisory.StatusUnfixed] == 0 {
		t.Errorf("skipped %d, statuses %v", skipped, statuses)
	}
}

func TestParseDatabase(t *testing.T) {
	f, err := ubuntu.ParseDatabase(read(t, "usn-db/database-all.USN-763-1.json"), "db")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Notices) != 1 {
		t.Fatalf("malformed: %v", f.Malformed)
	}
	n := f.Notices[0]
	if n.ID != "USN-763-1" || n.Published.IsZero() ||
		!slices.Equal(n.CVEs, []string{"CVE-2009-0698", "CVE-2009-1274"}) {
		t.Errorf("notice %+v", n)
	}
	want := advisory.Affected{Ecosystem: "dpkg", Release: "dapper", Package: "xine-lib",
		Status: advisory.StatusFixed, FixedVersion: "1.1.1+ubuntu2-7.12"}
	if len(n.Affected) < 3 || !cmp.Equal(want, n.Affected[0]) {
		t.Errorf("affected %+v, want dapper first of several", n.Affected)
	}
	if _, err := ubuntu.ParseDatabase([]byte("[1]"), "bad"); err == nil {
		t.Error("ParseDatabase of a list succeeded")
	}
}

func TestMapper(t *testing.T) {
	tests := []struct {
		eco     string
		release string
		ok      bool
	}{
		{"Ubuntu:22.04:LTS", "jammy", true},
		{"Ubuntu:25.10", "questing", true},
		{"Ubuntu:Pro:22.04:LTS", "", false},
		{"Ubuntu:9.99", "", false},
		{"Debian:12", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.eco, func(t *testing.T) {
			got, ok := ubuntu.Mapper(tt.eco, "pkg")
			if ok != tt.ok || got.Release != tt.release {
				t.Errorf("Mapper(%q) = %+v, %v", tt.eco, got, ok)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(read(f, "osv/USN-5614-1.json"))
	f.Add(read(f, "usn-db/database-all.USN-763-1.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		feeds := []advisory.Feed{ubuntu.ParseOSV(data, "fuzz", ubuntu.SourceUSN)}
		if db, err := ubuntu.ParseDatabase(data, "fuzz"); err == nil {
			feeds = append(feeds, db)
		}
		for _, feed := range feeds {
			for _, n := range feed.Notices {
				if err := n.Validate(); err != nil {
					t.Fatalf("parsed notice does not validate: %v", err)
				}
			}
		}
	})
}
