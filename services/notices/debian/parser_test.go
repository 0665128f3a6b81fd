package debian_test

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/debian"
	sharedfixtures "crawlspace.dev/services/platform/fixtures"
)

// fixtures is the shared real test data; see its README.md.
func fixtures(t testing.TB, name string) string {
	t.Helper()
	return sharedfixtures.Path(t, "notices/debian/"+name)
}

// parseFixture parses one fixture list, failing on a read error.
func parseFixture(t *testing.T, name string) ([]advisory.Notice, []*debian.RecordError,
	debian.Stats) {
	t.Helper()
	f, err := os.Open(fixtures(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	notices, skipped, stats, err := debian.ParseAll(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return notices, skipped, stats
}

func byID(notices []advisory.Notice) map[string]advisory.Notice {
	m := make(map[string]advisory.Notice, len(notices))
	for _, n := range notices {
		m[n.ID] = n
	}
	return m
}

// affected returns n's entry for pkg in release, failing when it has none.
func affected(t *testing.T, n advisory.Notice, release, pkg string) advisory.Affected {
	t.Helper()
	for _, a := range n.Affected {
		if a.Release == release && a.Package == pkg {
			return a
		}
	}
	t.Fatalf("%s has no %s %s", n.ID, release, pkg)
	return advisory.Affected{}
}

// listFacts are the measured facts of fixtures/README.md for one list.
type listFacts struct {
	notices, affected, epochs, noRevision, noSuite int
	suites                                         int
	statuses                                       map[advisory.Status]int
	first, last                                    string
	notes                                          int
}

func TestParseFixtureCounts(t *testing.T) {
	tests := []struct {
		file string
		want listFacts
	}{
		{"DSA-list", listFacts{
			notices: 5406, affected: 6988, epochs: 1015, noRevision: 471, noSuite: 23,
			suites: 10, first: "DSA-5380-1", last: "DSA-135", notes: 485,
			// fixtures/README.md counts 7 <end-of-life> and 6 <unfixed>, but
			// 3 of each are inside NOTE: lines, which are not suite lines.
			statuses: map[advisory.Status]int{
				advisory.StatusFixed: 6988 - 55 - 4 - 3, advisory.StatusNotAffected: 55,
				advisory.StatusEndOfLife: 4, advisory.StatusUnfixed: 3,
			},
		}},
		{"DLA-list", listFacts{
			notices: 3534, affected: 3535, epochs: 590, noSuite: 4,
			suites: 5, first: "DLA-3380-1", last: "DLA-0001-1", notes: 3,
			statuses: map[advisory.Status]int{
				advisory.StatusFixed: 3534, advisory.StatusEndOfLife: 1,
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			notices, skipped, stats := parseFixture(t, tt.file)
			if len(skipped) != 0 {
				t.Errorf("skipped %d records, want none; first: %v", len(skipped), skipped[0])
			}
			got := measure(notices)
			got.notes = stats.Notes
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(listFacts{})); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			if stats.Notices != len(notices) || stats.Affected != got.affected {
				t.Errorf("stats %+v disagree with %d notices, %d affected",
					stats, len(notices), got.affected)
			}
		})
	}
}

// measure computes a list's facts from its parsed notices.
func measure(notices []advisory.Notice) listFacts {
	f := listFacts{notices: len(notices), statuses: map[advisory.Status]int{}}
	suites := map[string]bool{}
	for _, n := range notices {
		if strings.Count(n.ID, "-") == 1 {
			f.noRevision++
		}
		if len(n.Affected) == 0 {
			f.noSuite++
		}
		for _, a := range n.Affected {
			f.affected++
			f.statuses[a.Status]++
			suites[a.Release] = true
			if strings.Contains(a.FixedVersion, ":") {
				f.epochs++
			}
		}
	}
	f.suites = len(suites)
	if len(notices) > 0 {
		f.first, f.last = notices[0].ID, notices[len(notices)-1].ID
	}
	return f
}

func TestParseDSANotices(t *testing.T) {
	notices, _, _ := parseFixture(t, "DSA-list")
	m := byID(notices)
	tests := []struct {
		id, release, pkg, version string
	}{
		{"DSA-5380-1", "bullseye", "xorg-server", "2:1.20.11-1+deb11u6"},
		{"DSA-5375-1", "bullseye", "thunderbird", "1:102.9.0-1~deb11u1"},
		{"DSA-5347-1", "bullseye", "imagemagick", "8:6.9.11.60+dfsg-1.3+deb11u1"},
		{"DSA-5374-1", "bullseye", "firefox-esr", "102.9.0esr-1~deb11u1"},
		{"DSA-5288-1", "bullseye", "graphicsmagick", "1.4+really1.3.36+hg16481-2+deb11u1"},
		{"DSA-5356-2", "bullseye", "sox", "14.4.2+git20190427-2+deb11u2"},
		// A double space between package and version.
		{"DSA-2798-1", "wheezy", "curl", "7.26.0-1+wheezy5"},
		// DSA-423's version is a package name; it is kept as the feed wrote it.
		{"DSA-423", "woody", "kernel-image-2.4.17-ia64", "kernel-image-2.4.17-ia64"},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.pkg, func(t *testing.T) {
			n, ok := m[tt.id]
			if !ok {
				t.Fatalf("%s not in the list", tt.id)
			}
			want := fixed(tt.release, tt.pkg, tt.version)
			if diff := cmp.Diff(want, affected(t, n, tt.release, tt.pkg)); diff != "" {
				t.Errorf("affected (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("newest", func(t *testing.T) {
		want := advisory.Notice{
			ID: "DSA-5380-1", Source: "debian-dsa", Title: "security update",
			Published: time.Date(2023, 3, 29, 0, 0, 0, 0, time.UTC),
			CVEs:      []string{"CVE-2023-1393"},
			URL:       "https://security-tracker.debian.org/tracker/DSA-5380-1",
			Packages:  []string{"xorg-server"},
			Affected:  []advisory.Affected{fixed("bullseye", "xorg-server", "2:1.20.11-1+deb11u6")},
		}
		if diff := cmp.Diff(want, m["DSA-5380-1"]); diff != "" {
			t.Errorf("DSA-5380-1 (-want +got):\n%s", diff)
		}
	})
	t.Run("no revision", func(t *testing.T) {
		n := m["DSA-135"]
		if n.Published.Year() != 2002 || n.URL != debian.TrackerURL+"DSA-135" {
			t.Errorf("DSA-135 = %+v, want a 2002 notice with its tracker URL", n)
		}
	})
	t.Run("not-affected", func(t *testing.T) {
		n := m["DSA-2275-1"]
		var na int
		for _, a := range n.Affected {
			if a.Status == advisory.StatusNotAffected {
				na++
				if a.FixedVersion != "" {
					t.Errorf("not-affected %s has fixed version %q", a.Package, a.FixedVersion)
				}
			}
		}
		if na == 0 {
			t.Errorf("DSA-2275-1 has no not-affected entry: %+v", n.Affected)
		}
	})
	t.Run("announcements", func(t *testing.T) {
		for id, title := range map[string]string{
			"DSA-4205-1": "jessie end-of-life",
			"DSA-3281-1": "Debian Security Team PGP/GPG key change notice",
		} {
			n, ok := m[id]
			if !ok || len(n.Affected) != 0 || n.Title != title || len(n.Packages) != 0 {
				t.Errorf("%s = %+v, want announcement %q with no packages", id, n, title)
			}
		}
	})
	t.Run("multi-source header", func(t *testing.T) {
		n := m["DSA-1991-1"]
		if diff := cmp.Diff([]string{"squid", "squid3"}, n.Packages); diff != "" {
			t.Errorf("DSA-1991-1 packages (-want +got):\n%s", diff)
		}
	})
	t.Run("regression update", func(t *testing.T) {
		n := m["DSA-5356-2"]
		if n.Title != "regression update" || len(n.CVEs) != 0 {
			t.Errorf("DSA-5356-2 = %+v, want a regression update without CVEs", n)
		}
	})
	t.Run("spaced braces", func(t *testing.T) {
		var found bool
		for _, n := range notices {
			if len(n.CVEs) > 0 && n.CVEs[0] == "CVE-2006-0467" {
				found = true
			}
		}
		if !found {
			t.Error("the \"{ CVE-2006-0467 }\" line was not read")
		}
	})
}

func fixed(release, pkg, version string) advisory.Affected {
	return advisory.Affected{Ecosystem: "dpkg", Release: release, Package: pkg,
		Status: advisory.StatusFixed, FixedVersion: version}
}

func TestParseEdgeCases(t *testing.T) {
	notices, skipped, _ := parseFixture(t, "DSA-list.edgecases")
	if len(skipped) != 0 {
		t.Fatalf("skipped %v", skipped)
	}
	m := byID(notices)
	if diff := cmp.Diff(fixed("bookworm", "sope", "5.8.0-1+deb12u1"),
		affected(t, m["DSA-5970-1"], "bookworm", "sope")); diff != "" {
		t.Errorf("DSA-5970-1 (-want +got):\n%s", diff)
	}
	if n := m["DSA-140"]; len(n.Affected) != 2 {
		t.Errorf("DSA-140 has %d suite lines, want 2", len(n.Affected))
	}
	if n := m["DSA-2808-2"]; len(n.Affected) != 2 || n.Title != "regression update" {
		t.Errorf("DSA-2808-2 = %+v", n)
	}
}

func TestParseMalformed(t *testing.T) {
	const good = "[29 Mar 2023] DSA-5380-1 xorg-server - security update\n" +
		"\t{CVE-2023-1393}\n" +
		"\t[bullseye] - xorg-server 2:1.20.11-1+deb11u6\n"
	const tail = "[01 Aug 2002] DSA-141 mpack - buffer overflow\n" +
		"        [woody] - mpack 1.5-7woody2 (bug #123; medium)\n"
	const h = "[01 Jan 2020] DSA-1-1 x - y\n"
	tests := []struct {
		name string
		bad  string
		line int    // line of the RecordError, in the whole input
		msg  string // part of the error
		lead bool   // bad comes before the good record, not after it
	}{
		{"bad date", "[31 Foo 2023] DSA-1-1 x - y\n\t[sid] - x 1\n", 4, "parse date", false},
		{"no date", "DSA-1-1 x - y\n", 4, "no [date]", false},
		{"bad id", "[01 Jan 2020] USN-1-1 x - y\n", 4, "want DSA-N", false},
		{"id letters", "[01 Jan 2020] DSA-1a x - y\n", 4, "want DSA-N", false},
		{"bad cve", h + "\t{CVE-2020-1}\n", 5, "not a CVE", false},
		{"open brace", h + "\t{CVE-2020-1234\n", 5, "closing brace", false},
		{"no version", h + "\t[sid] - x\n", 5, "package version", false},
		{"no dash", h + "\t[sid] x 1.0\n", 5, "package version", false},
		{"junk after", h + "\t[sid] - x 1.0 junk\n", 5, "after version", false},
		{"bad version", h + "\t[sid] - x 1.0/2\n", 5, "bad version", false},
		{"bad package", h + "\t[sid] - X 1.0\n", 5, "package name", false},
		{"unknown line", h + "\tfoo bar\n", 5, "unknown line", false},
		{"twice", h + "\t[sid] - x 1\n\t[sid] - x 2\n", 4, "twice", false},
		{"orphan", "\t[sid] - x 1\n\t{CVE-2020-1234}\n", 1, "outside a record", true},
		{"duplicate id", "[01 Jan 2020] DSA-5380-1 x - y\n", 4, "listed twice", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := good + tt.bad + tail
			if tt.lead {
				input = tt.bad + good + tail
			}
			notices, skipped, stats, err := debian.ParseAll(strings.NewReader(input), "test-list")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, n := range notices {
				ids = append(ids, n.ID)
			}
			if diff := cmp.Diff([]string{"DSA-5380-1", "DSA-141"}, ids); diff != "" {
				t.Errorf("kept notices (-want +got):\n%s", diff)
			}
			if len(skipped) != 1 || stats.Malformed != 1 {
				t.Fatalf("skipped %v (stats %d), want one", skipped, stats.Malformed)
			}
			e := skipped[0]
			if e.Name != "test-list" || e.Line != tt.line || !strings.Contains(e.Error(), tt.msg) {
				t.Errorf("error %q at line %d, want test-list line %d with %q",
					e, e.Line, tt.line, tt.msg)
			}
		})
	}
}

func TestParseAnnotations(t *testing.T) {
	input := "[01 Jan 2020] DLA-9-1 x - y\r\n" +
		"  [buster] - a <unfixed> (high)\r\n" +
		"\t[stretch] - a <not-affected> (vulnerable code not present)\n" +
		" \t[jessie] - a <end-of-life>\n" +
		"\t[wheezy] - a <postponed>\n" +
		"\n" +
		"\tNOTE: two notes\n" +
		"\tNOTE: here\n"
	notices, skipped, stats, err := debian.ParseAll(strings.NewReader(input), "x")
	if err != nil || len(skipped) != 0 || len(notices) != 1 {
		t.Fatalf("ParseAll = %v, %v, %v", notices, skipped, err)
	}
	got := map[string]advisory.Status{}
	for _, a := range notices[0].Affected {
		got[a.Release] = a.Status
	}
	want := map[string]advisory.Status{
		"buster": "unfixed", "stretch": "not-affected", "jessie": "end-of-life",
		"wheezy": "undetermined",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if notices[0].Source != "debian-dla" || stats.Undetermined != 1 || stats.Notes != 2 {
		t.Errorf("source %q, stats %+v; want debian-dla, 1 undetermined, 2 notes",
			notices[0].Source, stats)
	}
}

func TestParseReadError(t *testing.T) {
	long := "[01 Jan 2020] DSA-1-1 x - " + strings.Repeat("y", 2<<20) + "\n"
	_, _, _, err := debian.ParseAll(strings.NewReader(long), "x")
	if err == nil {
		t.Fatal("a 2 MiB line was accepted")
	}
	boom := errors.New("boom")
	_, _, _, err = debian.ParseAll(io.MultiReader(strings.NewReader("[01 Jan 2020] DSA-1-1 x\n"),
		errReader{boom}), "x")
	if !errors.Is(err, boom) {
		t.Errorf("ParseAll = %v, want the reader's error", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
