package alpine_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/alpine"
	"crawlspace.dev/services/platform/fixtures"
)

func parse(t testing.TB, rel string) advisory.Feed {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, "notices/alpine/"+rel))
	if err != nil {
		t.Fatal(err)
	}
	f, err := alpine.Parse(data, rel)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestParseYAML checks every official secdb YAML file: one notice per
// secfixes key, counted independently of this parser.
func TestParseYAML(t *testing.T) {
	tests := []struct {
		file     string
		notices  int
		packages int
	}{
		{"v3.3/main.yaml", 159, 91},
		{"v3.3/community.yaml", 0, 0},
		{"v3.4/community.yaml", 2, 2},
		{"v3.8/main.yaml", 442, 164},
		{"v3.10/main.yaml", 460, 166},
		{"v3.11/main.yaml", 502, 175},
		{"v3.11/community.yaml", 239, 85},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := parse(t, "secdb-yaml/"+tt.file)
			if len(f.Notices) != tt.notices || len(f.Malformed) != 0 {
				t.Fatalf("%d notices, %d malformed; want %d and 0: %v", len(f.Notices),
					len(f.Malformed), tt.notices, f.Malformed)
			}
			pkgs := map[string]bool{}
			rel := filepath.Dir(tt.file)
			for _, n := range f.Notices {
				a := n.Affected[0]
				if a.Ecosystem != "apk" || a.Release != rel || n.Source != "alpine-secdb" {
					t.Fatalf("%s: affected %+v", n.ID, a)
				}
				pkgs[a.Package] = true
			}
			if len(pkgs) != tt.packages {
				t.Errorf("%d packages, want %d", len(pkgs), tt.packages)
			}
		})
	}
}

func TestParseNotices(t *testing.T) {
	byID := map[string]advisory.Notice{}
	for _, n := range parse(t, "secdb-yaml/v3.11/main.yaml").Notices {
		byID[n.ID] = n
	}
	n, ok := byID["ALPINE-v3.11-ansible-2.9.3-r0"]
	if !ok {
		t.Fatal("no notice for ansible 2.9.3-r0")
	}
	want := []advisory.Affected{{Ecosystem: "apk", Release: "v3.11", Package: "ansible",
		Status: advisory.StatusFixed, FixedVersion: "2.9.3-r0"}}
	if diff := cmp.Diff(want, n.Affected); diff != "" {
		t.Errorf("affected (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"CVE-2019-14904", "CVE-2019-14905"}, n.CVEs); diff != "" {
		t.Errorf("cves (-want +got):\n%s", diff)
	}

	// v3.8 main has the only "0" key: never affected.
	var zero int
	for _, n := range parse(t, "secdb-yaml/v3.8/main.yaml").Notices {
		if a := n.Affected[0]; a.Status == advisory.StatusNotAffected && a.FixedVersion == "" {
			zero++
		}
	}
	if zero != 1 {
		t.Errorf("%d not-affected notices in v3.8 main, want 1", zero)
	}
}

// TestParseJSON checks that the JSON form reads as the YAML form does, and
// that the real JSON excerpts' quirks (packages: {}, a CVE list as {})
// are read.
func TestParseJSON(t *testing.T) {
	for _, repo := range []string{"main", "community"} {
		t.Run("derived "+repo, func(t *testing.T) {
			y := parse(t, "secdb-yaml/v3.11/"+repo+".yaml")
			j := parse(t, "secdb-json-derived/v3.11-"+repo+".DERIVED-from-yaml.json")
			if diff := cmp.Diff(y, j); diff != "" {
				t.Errorf("json differs from yaml (-yaml +json):\n%s", diff)
			}
		})
	}
	tests := []struct {
		file    string
		notices int
	}{
		{"claircore-v3.10-community.json", 8},
		{"vuln-list-update-311-community.json", 0},
		{"vuln-list-update-311-main.json", 1},
		{"vuln-list-update-312-main.json", 2},
		{"vuln-list-update-edge-main.json", 2},
		{"vulnerablecode-v3.11-main.json", 4},
		{"vulnerablecode-v3.3-community.json", 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if f := parse(t, "secdb-json/"+tt.file); len(f.Notices) != tt.notices {
				t.Errorf("%d notices, want %d (malformed %v)", len(f.Notices), tt.notices,
					f.Malformed)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	doc := "distroversion: v3.19\npackages:\n  - pkg: {secfixes: {1.0-r0: [CVE-1]}}\n" +
		"  - pkg: {name: zlib, secfixes: {'1.3 bad': [CVE-2]}}\n" +
		"  - pkg: {name: zlib, secfixes: {1.3-r0: [CVE-2023-1]}}\n"
	f, err := alpine.Parse([]byte(doc), "doc")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Notices) != 1 || len(f.Malformed) != 2 {
		t.Fatalf("%d notices and %d malformed, want 1 and 2", len(f.Notices), len(f.Malformed))
	}
	if got := f.Malformed[0].Error(); got != "doc packages[0]: package entry without a name" {
		t.Errorf("error %q", got)
	}
	for _, bad := range []string{"[", "distroversion: 3.19\n", "- a\n"} {
		if _, err := alpine.Parse([]byte(bad), "bad"); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, rel := range []string{"secdb-json/claircore-v3.10-community.json",
		"secdb-json/vuln-list-update-312-main.json", "secdb-yaml/v3.4/community.yaml"} {
		data, err := os.ReadFile(fixtures.Path(f, "notices/alpine/"+rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := alpine.Parse(data, "fuzz")
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
