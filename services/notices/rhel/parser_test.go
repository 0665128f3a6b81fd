package rhel_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/rhel"
	"crawlspace.dev/services/platform/fixtures"
)

func read(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, "notices/redhat/"+rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var ignoreRanges = cmpopts.IgnoreFields(advisory.Affected{}, "Ranges")

func fixed(release, pkg, version string) advisory.Affected {
	return advisory.Affected{Ecosystem: "rpm", Release: release, Package: pkg,
		Status: advisory.StatusFixed, FixedVersion: version}
}

func TestParseOSV(t *testing.T) {
	tests := []struct {
		file, source string
		rows         int
		first        advisory.Affected
	}{
		{"alma/osv/almalinux8/ALBA-2021_4378.json", rhel.SourceAlma, 7,
			fixed("el8", "krb5-devel", "1.18.2-14.el8")},
		{"alma/osv/almalinux8/ALSA-2023_5259.json", rhel.SourceAlma, 2,
			fixed("el8", "mariadb", "3:10.3.39-1.module_el8.8.0+3609+204d4ab0")},
		{"alma/osv/almalinux9/ALSA-2024_2433.json", rhel.SourceAlma, 10,
			fixed("el9", "avahi", "0.8-20.el9")},
		{"rocky/osv/RLSA-2021_3891.json", rhel.SourceRocky, 1,
			fixed("el8", "java-11-openjdk", "1:11.0.13.0.8-1.el8_4")},
		{"rocky/osv/RLSA-2024_3671.json", rhel.SourceRocky, 3,
			fixed("el9", "ruby", "0:3.3.1-2.module+el9.4.0+20787+4c237fd3")},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			f := rhel.ParseOSV(read(t, tt.file), tt.file, tt.source)
			if len(f.Notices) != 1 {
				t.Fatalf("malformed: %v", f.Malformed)
			}
			n := f.Notices[0]
			if len(n.Affected) != tt.rows || n.Source != tt.source || n.URL == "" {
				t.Fatalf("%s: %d rows, want %d: %+v", n.ID, len(n.Affected), tt.rows, n)
			}
			got := n.Affected[0]
			for _, a := range n.Affected {
				if a.Package == tt.first.Package {
					got = a
				}
			}
			if diff := cmp.Diff(tt.first, got, ignoreRanges); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAlmaErrata(t *testing.T) {
	f, err := rhel.ParseAlmaErrata(read(t, "alma/errata.json"), "errata.json")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]advisory.Notice{}
	for _, n := range f.Notices {
		byID[n.ID] = n
	}
	if len(byID) != 4 || len(f.Malformed) != 0 {
		t.Fatalf("%d notices, malformed %v; want 4", len(byID), f.Malformed)
	}
	n := byID["ALSA-2021:3253"]
	want := []advisory.Affected{fixed("el8", "libsndfile", "1.0.28-10.el8_4.1")}
	if diff := cmp.Diff(want, n.Affected); diff != "" {
		t.Errorf("ALSA-2021:3253 (-want +got):\n%s", diff)
	}
	if n.Severity != "important" || n.Published.Year() != 2021 || len(n.CVEs) != 1 {
		t.Errorf("ALSA-2021:3253: %+v", n)
	}
	// virt:rhel names libiscsi, netcf and sgabios for two module streams.
	if got := len(byID["ALSA-2020:0279"].Affected); got != 3 {
		t.Errorf("ALSA-2020:0279 has %d rows, want 3 source rpms", got)
	}
}

func TestParseCEFS(t *testing.T) {
	f, err := rhel.ParseCEFS(read(t, "centos/cefs-errata-mini.xml"), "cefs")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Notices) != 1 {
		t.Fatalf("malformed: %v", f.Malformed)
	}
	n := f.Notices[0]
	want := []advisory.Affected{fixed("el6", "firefox", "60.2.2-1.el6.centos")}
	if diff := cmp.Diff(want, n.Affected); diff != "" {
		t.Errorf("affected (-want +got):\n%s", diff)
	}
	if n.ID != "CESA-2018:2881" || n.Severity != "critical" || n.Published.Day() != 9 ||
		n.URL != "https://lists.centos.org/pipermail/centos-announce/2018-October/023049.html" {
		t.Errorf("notice %+v", n)
	}
	if _, err := rhel.ParseCEFS([]byte("<opt><a"), "bad"); err == nil {
		t.Error("ParseCEFS of cut XML succeeded")
	}
}

func TestParseCSAF(t *testing.T) {
	f, err := rhel.ParseCSAF(read(t, "rhel/csaf/rhsa-2024_6163.json"), "csaf")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Notices) != 1 {
		t.Fatalf("malformed: %v", f.Malformed)
	}
	n := f.Notices[0]
	// Three products (AppStream, BaseOS, CRB) hold the one source rpm.
	want := []advisory.Affected{fixed("el9", "python3.9", "0:3.9.18-3.el9_4.5")}
	if diff := cmp.Diff(want, n.Affected); diff != "" {
		t.Errorf("affected (-want +got):\n%s", diff)
	}
	if n.ID != "RHSA-2024:6163" || n.Severity != "moderate" || len(n.CVEs) != 1 ||
		n.CVEs[0] != "CVE-2024-8088" {
		t.Errorf("notice %+v", n)
	}
}

func TestCSAFStatuses(t *testing.T) {
	doc := `{"document":{"tracking":{"id":"RHSA-1"}},"vulnerabilities":[{"cve":"CVE-1",
	"product_status":{"known_affected":["BaseOS-8:a-0:1-1.el8.src","BaseOS-8:b-0:1-1.el8.src",
	"BaseOS-8:c-0:1-1.el8.src"],"known_not_affected":["BaseOS-8:d-0:1-1.el8.src"],
	"under_investigation":["BaseOS-8:e-0:1-1.el8.src"]},
	"remediations":[{"category":"no_fix_planned","details":"Will not fix","product_ids":
	["BaseOS-8:a-0:1-1.el8.src"]},{"category":"none_available","details":"Out of support scope",
	"product_ids":["BaseOS-8:b-0:1-1.el8.src"]}]}]}`
	f, err := rhel.ParseCSAF([]byte(doc), "doc")
	if err != nil || len(f.Notices) != 1 {
		t.Fatalf("ParseCSAF = %v, %v", err, f.Malformed)
	}
	got := map[string]advisory.Status{}
	for _, a := range f.Notices[0].Affected {
		got[a.Package] = a.Status
	}
	want := map[string]advisory.Status{"a": "will-not-fix", "b": "end-of-life", "c": "unfixed",
		"d": "not-affected", "e": "undetermined"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestSplitSRPM(t *testing.T) {
	tests := []struct{ in, name, version string }{
		{"libsndfile-1.0.28-10.el8_4.1.src.rpm", "libsndfile", "1.0.28-10.el8_4.1"},
		{"java-11-openjdk-11.0.13.0.8-1.el8_4.src.rpm", "java-11-openjdk", "11.0.13.0.8-1.el8_4"},
		{"bad.src.rpm", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, v, _ := rhel.SplitSRPM(tt.in)
			if n != tt.name || v != tt.version {
				t.Errorf("SplitSRPM = %q %q", n, v)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(read(f, "centos/cefs-errata-mini.xml"))
	f.Add(read(f, "rhel/csaf/rhsa-2024_6163.json"))
	f.Add(read(f, "rocky/osv/RLSA-2021_3891.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		feeds := []advisory.Feed{rhel.ParseOSV(data, "fuzz", rhel.SourceRocky)}
		for _, p := range []func([]byte, string) (advisory.Feed, error){
			rhel.ParseCEFS, rhel.ParseCSAF, rhel.ParseAlmaErrata} {
			if feed, err := p(data, "fuzz"); err == nil {
				feeds = append(feeds, feed)
			}
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
