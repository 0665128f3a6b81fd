package matcher

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMatchEcosystems checks the pure core on every ecosystem: fixed
// versions and OSV ranges, each in the ecosystem's own order, releases per
// distribution and the empty release for language packages, and the explicit statuses.
func TestMatchEcosystems(t *testing.T) {
	osv := func(events ...Event) []Range { return []Range{{Type: "ECOSYSTEM", Events: events}} }
	rows := []Affected{
		{NoticeID: "RHSA-1", Ecosystem: "rpm", Release: "el9", Package: "openssl",
			FixedVersion: "1:3.0.7-25.el9_3", Status: statusFixed},
		{NoticeID: "RHSA-2", Ecosystem: "rpm", Release: "el8", Package: "openssl",
			FixedVersion: "1:9.0-1.el8", Status: statusFixed},
		{NoticeID: "ALPINE-1", Ecosystem: "apk", Release: "el9", Package: "busybox",
			FixedVersion: "1.36.1-r1", Status: statusFixed},
		{NoticeID: "PYSEC-1", Ecosystem: "pypi", Package: "requests", Status: statusFixed,
			Ranges: osv(Event{Introduced: "0"}, Event{Fixed: "2.31.0"})},
		{NoticeID: "PYSEC-2", Ecosystem: "pypi", Package: "requests", Status: statusFixed,
			Ranges: osv(Event{Introduced: "2.32.0"}, Event{Fixed: "2.32.4"})},
		{NoticeID: "GHSA-npm", Ecosystem: "npm", Package: "@scope/pkg", Status: statusFixed,
			Ranges: osv(Event{Introduced: "0"}, Event{LastAffected: "1.0.0-beta.11"})},
		{NoticeID: "GO-1", Ecosystem: "go", Package: "golang.org/x/net", Status: statusFixed,
			Ranges: []Range{{Type: "SEMVER", Events: []Event{{Introduced: "0"},
				{Fixed: "0.17.0"}, {Introduced: "0.18.0"}, {Fixed: "0.18.1"}}}}},
		{NoticeID: "GHSA-mvn", Ecosystem: "maven", Package: "org.x:core", Status: statusFixed,
			FixedVersion: "2.0", Ranges: []Range{{Type: "GIT", Events: []Event{
				{Introduced: "abc"}}}}},
		{NoticeID: "GHSA-gem", Ecosystem: "gem", Package: "rack", Status: statusUnfixed,
			Ranges: osv(Event{Introduced: "2.0.0"})},
		{NoticeID: "DSA-NA", Ecosystem: "pypi", Package: "requests",
			Status: statusNotAffected},
		{NoticeID: "WNF", Ecosystem: "rpm", Release: "el9", Package: "openssl",
			Status: statusWillNotFix},
	}
	pkgs := []Package{
		{"rpm", "openssl-libs", "openssl", "1:3.0.7-24.el9"},
		{"apk", "busybox", "busybox", "1.36.1-r0"},
		{"pypi", "requests", "requests", "2.32.3"},
		{"npm", "@scope/pkg", "@scope/pkg", "1.0.0-beta.2"},
		{"go", "golang.org/x/net", "golang.org/x/net", "v0.17.0"},
		{"maven", "org.x:core", "org.x:core", "2.0-rc1"},
		{"gem", "rack", "rack", "2.2.8"},
	}
	got, skips := Match("el9", pkgs, NewIndex(rows))
	if len(skips) != 0 {
		t.Fatalf("skipped: %+v", skips)
	}
	want := map[key]finding{
		{"rpm", "openssl-libs", "RHSA-1"}: {"openssl", "1:3.0.7-24.el9", "1:3.0.7-25.el9_3",
			"el9", statusFixed, "rpm"},
		{"rpm", "openssl-libs", "WNF"}: {"openssl", "1:3.0.7-24.el9", "", "el9",
			statusWillNotFix, "rpm"},
		{"apk", "busybox", "ALPINE-1"}: {"busybox", "1.36.1-r0", "1.36.1-r1", "el9",
			statusFixed, "apk"},
		{"pypi", "requests", "PYSEC-2"}: {"requests", "2.32.3", "2.32.4", "", statusFixed,
			"pep440"},
		{"npm", "@scope/pkg", "GHSA-npm"}: {"@scope/pkg", "1.0.0-beta.2", "", "",
			statusUnfixed, "npm"},
		{"maven", "org.x:core", "GHSA-mvn"}: {"org.x:core", "2.0-rc1", "2.0", "", statusFixed,
			"maven"},
		{"gem", "rack", "GHSA-gem"}: {"rack", "2.2.8", "", "", statusUnfixed, "gem"},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(key{}, finding{})); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
}

// TestMatchNoRelease checks that an image without a release matches its
// language packages and none of its distribution packages.
func TestMatchNoRelease(t *testing.T) {
	idx := NewIndex([]Affected{
		{NoticeID: "D", Ecosystem: "dpkg", Release: "", Package: "apr", Status: statusUnfixed},
		{NoticeID: "P", Ecosystem: "pypi", Package: "jinja2", Status: statusUnfixed},
	})
	got, _ := Match("", []Package{{"dpkg", "libapr1", "apr", "1.0-1"},
		{"pypi", "jinja2", "jinja2", "3.0.0"}}, idx)
	if _, ok := got[key{"pypi", "jinja2", "P"}]; !ok || len(got) != 1 {
		t.Errorf("findings = %v, want only the pypi one", got)
	}
}

// TestMatchSkipsBadVersions checks that an invalid version is reported and
// does not hide other findings.
func TestMatchSkipsBadVersions(t *testing.T) {
	idx := NewIndex([]Affected{
		{NoticeID: "A", Ecosystem: "go", Package: "m", FixedVersion: "1.2.0", Status: "fixed"},
		{NoticeID: "B", Ecosystem: "go", Package: "m", Status: statusUnfixed},
	})
	got, skips := Match("", []Package{{"go", "m", "m", "not-a-version"}}, idx)
	if len(skips) != 1 || skips[0].noticeID != "A" || len(got) != 1 {
		t.Errorf("findings %v, skips %v", got, skips)
	}
}
