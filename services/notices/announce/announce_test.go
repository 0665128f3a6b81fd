package announce_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/announce"
)

// The pages under testdata are constructed, not captured: no real archive
// page is in the shared fixtures. testdata/README.md says what each holds
// and which facts come from the real DSA list and CEFS errata.

// files reads pages from disk.
type files struct{}

func (files) Get(_ context.Context, path string) ([]byte, error) { return os.ReadFile(path) }

func read(t *testing.T, a *announce.Archive, index string) advisory.Feed {
	t.Helper()
	path := filepath.Join("testdata", index)
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := a.Read(t.Context(), files{}, body, path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fixed(eco, rel, pkg, v string) advisory.Affected {
	return advisory.Affected{Ecosystem: eco, Release: rel, Package: pkg,
		Status: advisory.StatusFixed, FixedVersion: v}
}

func TestReadDebian(t *testing.T) {
	f := read(t, announce.Debian, "debian-security-announce/2022/threads.html")
	want := []advisory.Notice{
		{ID: "DSA-5196-1", Source: "debian-announce", Title: "libpgjava security update",
			Published: day("2022-07-31"), CVEs: []string{"CVE-2022-21724", "CVE-2022-26520"},
			Packages: []string{"libpgjava"},
			Affected: []advisory.Affected{
				fixed("dpkg", "bullseye", "libpgjava", "42.2.15-1+deb11u1"),
				fixed("dpkg", "buster", "libpgjava", "42.2.5-2+deb10u1")}},
		{ID: "DSA-5200-1", Source: "debian-announce", Title: "libtirpc security update",
			Published: day("2022-08-07"), CVEs: []string{"CVE-2021-46828"},
			Packages: []string{"libtirpc"},
			Affected: []advisory.Affected{fixed("dpkg", "bullseye", "libtirpc",
				"1.3.1-1+deb11u1")}},
		{ID: "DSA-5294-1", Source: "debian-announce", Title: "jhead security update",
			Published: day("2022-12-04"), CVEs: []string{"CVE-2021-34055", "CVE-2022-41751"},
			Packages: []string{"jhead"},
			Affected: []advisory.Affected{fixed("dpkg", "bullseye", "jhead",
				"1:3.04-6+deb11u1")}},
	}
	for i := range want {
		want[i].URL = "https://security-tracker.debian.org/tracker/" + want[i].ID
	}
	if diff := cmp.Diff(want, f.Notices); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	// msg00153.html, linked from the second index page, lost its Package line.
	if len(f.Malformed) != 1 || f.Malformed[0].ID != "DSA-5295-1" ||
		filepath.Base(f.Malformed[0].Name) != "msg00153.html" {
		t.Errorf("malformed %v, want DSA-5295-1 in msg00153.html", f.Malformed)
	}
}

func TestReadCentOS(t *testing.T) {
	f := read(t, announce.CentOS, "centos-announce/2018-October/thread.html")
	published := time.Date(2018, 10, 9, 13, 32, 55, 0, time.UTC)
	want := []advisory.Notice{
		{ID: "CESA-2018:2881", Source: "centos-announce", Severity: "critical",
			Title: "Critical CentOS 6 firefox Security Update", Published: published,
			Packages: []string{"firefox"},
			Affected: []advisory.Affected{
				fixed("rpm", "el6", "firefox", "60.2.2-1.el6.centos"),
				fixed("rpm", "el7", "firefox", "60.2.2-1.el7.centos")}},
		{ID: "CESA-2018:9998", Source: "centos-announce", Severity: "important",
			Title:     "Important CentOS 7 example-epoch Security Update",
			Published: time.Date(2018, 10, 12, 9, 0, 0, 0, time.UTC),
			Packages:  []string{"example-epoch"},
			Affected:  []advisory.Affected{fixed("rpm", "el7", "example-epoch", "1:2.0-3.el7")}},
	}
	if diff := cmp.Diff(want, f.Notices); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	if len(f.Malformed) != 1 || f.Malformed[0].ID != "CESA-2018:9999" ||
		filepath.Base(f.Malformed[0].Name) != "023052.html" {
		t.Errorf("malformed %v, want CESA-2018:9999 in 023052.html", f.Malformed)
	}
}

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]byte, string) (advisory.Notice, bool, error)
		page  string
		ok    bool
		err   bool
	}{
		{"debian without pre", announce.ParseDebian, "<html><h1>x</h1></html>", false, true},
		{"debian not a DSA", announce.ParseDebian, "<pre>Hello list</pre>", false, false},
		{"debian no id", announce.ParseDebian, "<pre>Debian Security Advisory</pre>",
			false, true},
		{"debian end-of-life", announce.ParseDebian, "<pre>Debian Security Advisory " +
			"DSA-4205-1\n\nPackage        : jessie\n</pre>", true, false},
		{"centos bugfix", announce.ParseCentOS,
			"<pre>CentOS Errata and Bugfix Advisory 2018:2883</pre>", false, false},
		{"centos no release", announce.ParseCentOS, "<h1>CESA-2018:1 x</h1><pre>CentOS " +
			"Errata and Security Advisory 2018:0001 Low\nSource:\nab x-1-2.src.rpm\n</pre>",
			false, true},
		{"centos release from rpm", announce.ParseCentOS, "<pre>CentOS Errata and " +
			"Security Advisory 2018:0001 Low\nSource:\nab x-1-2.el7.src.rpm\n</pre>",
			true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := tt.parse([]byte(tt.page), "page.html")
			if ok != tt.ok || (err != nil) != tt.err {
				t.Errorf("ok %v, err %v; want ok %v, error %v", ok, err, tt.ok, tt.err)
			}
		})
	}
}
