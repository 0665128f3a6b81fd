package osv_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/osv"
	"crawlspace.dev/services/platform/fixtures"
)

// parseDir parses every record under the fixture directory rel.
func parseDir(t *testing.T, rel, source string) (map[string]advisory.Notice, advisory.Feed) {
	t.Helper()
	var all advisory.Feed
	dir := fixtures.Path(t, "notices/osv/"+rel)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f := osv.ParseLanguage(data, path, source)
		all.Notices = append(all.Notices, f.Notices...)
		all.Malformed = append(all.Malformed, f.Malformed...)
		all.Skipped += f.Skipped
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Malformed) != 0 {
		t.Fatalf("malformed records: %v", all.Malformed)
	}
	byID := map[string]advisory.Notice{}
	for _, n := range all.Notices {
		byID[n.ID] = n
	}
	return byID, all
}

// events decodes an affected row's ranges.
func events(t *testing.T, a advisory.Affected) []osv.Range {
	t.Helper()
	var rs []osv.Range
	if err := json.Unmarshal(a.Ranges, &rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestParseGo checks the README's measured facts of the Go vulndb sample.
func TestParseGo(t *testing.T) {
	byID, _ := parseDir(t, "go", osv.SourceGo)
	var withdrawn, long, introduced, undated int
	for _, n := range byID {
		if len(n.Affected) == 0 {
			withdrawn++
		}
		var nonZero bool
		for _, a := range n.Affected {
			if a.Ecosystem != "go" || a.Release != "" {
				t.Fatalf("%s: row %+v", n.ID, a)
			}
			for _, r := range events(t, a) {
				if len(r.Events) > 2 {
					long++
				}
				for _, e := range r.Events {
					nonZero = nonZero || (e.Introduced != "" && e.Introduced != "0")
				}
			}
		}
		if nonZero {
			introduced++
		}
		if n.Published.IsZero() {
			undated++
		}
	}
	// 40 records have a non-zero introduced event; 7 of them are withdrawn
	// and keep no rows. 150 carry the 0001-01-01 published placeholder.
	if len(byID) != 200 || withdrawn != 8 || introduced != 33 || undated != 150 {
		t.Errorf("%d records, %d withdrawn, %d with non-zero introduced rows, %d undated; "+
			"want 200, 8, 33, 150", len(byID), withdrawn, introduced, undated)
	}
	if long != 17 {
		t.Errorf("%d ranges with more than 2 events, want 17", long)
	}
	n := byID["GO-2020-0001"]
	want := advisory.Affected{Ecosystem: "go", Package: "github.com/gin-gonic/gin",
		Status: advisory.StatusFixed, FixedVersion: "1.6.0"}
	got := n.Affected[0]
	got.Ranges = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GO-2020-0001 (-want +got):\n%s", diff)
	}
}

func TestParsePyPI(t *testing.T) {
	yamlIDs, _ := parseDir(t, "pypi-pysec-yaml", osv.SourcePyPI)
	jsonIDs, _ := parseDir(t, "pypi-pysec-json", osv.SourcePyPI)
	if len(yamlIDs) != 155 || len(jsonIDs) != 5 {
		t.Fatalf("%d yaml and %d json records, want 155 and 5", len(yamlIDs), len(jsonIDs))
	}
	var git int
	for _, n := range yamlIDs {
		for _, a := range n.Affected {
			if a.Ecosystem != "pypi" || a.Package != strings.ToLower(a.Package) {
				t.Fatalf("%s: row %+v", n.ID, a)
			}
			if strings.Contains(string(a.Ranges), `"GIT"`) {
				git++
				break
			}
		}
	}
	if git != 53 {
		t.Errorf("%d records with GIT ranges, want 53", git)
	}
	n := yamlIDs["PYSEC-2007-1"]
	if a := n.Affected[0]; a.Package != "django" || a.FixedVersion != "1.1" ||
		a.Status != advisory.StatusFixed {
		t.Errorf("PYSEC-2007-1: %+v", a)
	}
}

// TestParseGHSA checks that ecosystems crawlspace matches are mapped and
// the others (NuGet 7, Packagist 4, SwiftURL 3 entries) are skipped.
func TestParseGHSA(t *testing.T) {
	byID, all := parseDir(t, "ghsa", osv.SourceGHSA)
	if len(byID) != 22 || all.Skipped != 14 {
		t.Fatalf("%d records, %d skipped entries; want 22 and 14", len(byID), all.Skipped)
	}
	ecosystems := map[string]int{}
	for _, n := range byID {
		for _, a := range n.Affected {
			ecosystems[a.Ecosystem]++
		}
	}
	// Rows merge entries naming one package: eleven Maven entries name
	// eight packages.
	want := map[string]int{"maven": 8, "go": 5, "npm": 2, "gem": 1, "cargo": 2, "pypi": 1}
	if diff := cmp.Diff(want, ecosystems); diff != "" {
		t.Errorf("rows per ecosystem (-want +got):\n%s", diff)
	}
	rails := byID["GHSA-24fg-p96v-hxh8"]
	if len(rails.Affected) != 1 || len(events(t, rails.Affected[0])) != 2 ||
		rails.Severity != "moderate" {
		t.Errorf("GHSA-24fg-p96v-hxh8: %+v", rails)
	}
}

func TestParseStatuses(t *testing.T) {
	tests := []struct {
		name, events string
		status       advisory.Status
		fixed        string
	}{
		{"one fix", `[{"introduced":"0"},{"fixed":"1.2"}]`, advisory.StatusFixed, "1.2"},
		{"no fix", `[{"introduced":"0"},{"last_affected":"1.2"}]`, advisory.StatusUnfixed, ""},
		{"two fixes", `[{"introduced":"0"},{"fixed":"1.2"},{"introduced":"2"},{"fixed":"2.1"}]`,
			advisory.StatusFixed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := `{"id":"X-1","affected":[{"package":{"ecosystem":"npm","name":"a"},` +
				`"ranges":[{"type":"SEMVER","events":` + tt.events + `}]}]}`
			f := osv.ParseLanguage([]byte(rec), "rec", "osv-ghsa")
			if len(f.Notices) != 1 {
				t.Fatalf("malformed: %v", f.Malformed)
			}
			a := f.Notices[0].Affected[0]
			if a.Status != tt.status || a.FixedVersion != tt.fixed {
				t.Errorf("row %+v, want %s %q", a, tt.status, tt.fixed)
			}
		})
	}
	if f := osv.ParseLanguage([]byte(`{"summary":"x"}`), "rec", "osv-go"); len(f.Malformed) != 1 {
		t.Error("record without id was not reported")
	}
}

func FuzzParse(f *testing.F) {
	for _, rel := range []string{"go/GO-2020-0001.json", "pypi-pysec-json/PYSEC-2018-27.json",
		"ghsa/GHSA-24fg-p96v-hxh8.json"} {
		data, err := os.ReadFile(fixtures.Path(f, "notices/osv/"+rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("id: PYSEC-1\naffected:\n- package: {name: A_b, ecosystem: PyPI}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		feed := osv.ParseLanguage(data, "fuzz", "osv-go")
		for _, n := range feed.Notices {
			if err := n.Validate(); err != nil {
				t.Fatalf("parsed notice does not validate: %v", err)
			}
		}
	})
}
