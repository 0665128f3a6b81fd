package conformance_test

import (
	"strings"
	"testing"

	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/matcher/version/dpkg"
	"crawlspace.dev/services/matcher/version/rpm"
	"crawlspace.dev/services/matcher/version/versiontest"
)

// minPairs is the least number of real pairs each oracle must see.
const minPairs = 10000

// dpkgHard are the classic hard cases of dpkg order.
var dpkgHard = [][2]string{
	{"1.0", "0:1.0"}, {"1:1.0", "1.0"}, {"1:2.0", "3.0"}, {"2:1.0", "10:0.1"},
	{"01:1.0", "1:1.0"}, {"1.0~rc1", "1.0"}, {"1.0~~", "1.0~"}, {"1.0~", "1.0"},
	{"1.0~rc1-1", "1.0-1"}, {"1.0-1~bpo1", "1.0-1"}, {"1.0+really0.9-1", "1.0-1"},
	{"1.4+really1.3.36+hg16481-2+deb11u1", "1.4-1"}, {"2.36-9+b1", "2.36-9"},
	{"2.36-9+deb12u1+b1", "2.36-9+deb12u1"}, {"1.0+dfsg-1", "1.0-1"},
	{"1.0+dfsg1-1", "1.0+dfsg-1"}, {"1.0+ds-1", "1.0+dfsg-1"}, {"1.0-0", "1.0"},
	{"1.0a", "1.0+"}, {"1.0a", "1.0."}, {"1.0", "1.0.0"}, {"1.10", "1.9"},
	{"1.001", "1.1"}, {"1.0-1-1", "1.0-1"}, {"1:1.0-1.2", "1:1.0-1"},
	{"99999999999999999999999", "99999999999999999999998"},
	{"1.0-99999999999999999999999", "1.0-99999999999999999999998"},
	{"7.74.0-1.3+deb11u7", "7.74.0-1.3+deb11u10"}, {"1.0~deb11u1", "1.0~deb12u1"},
}

// TestDpkgAgainstTool holds dpkg.Compare against `dpkg --compare-versions`
// on real versions from the Debian and Ubuntu fixtures, with epoch-added
// variants, and on the hard cases.
func TestDpkgAgainstTool(t *testing.T) {
	ocitest.Tool(t, "dpkg")
	c := debianVersions(t)
	pairs := append(c.pairs(minPairs), dpkgHard...)
	for _, v := range c.versions["curl"] {
		if !strings.Contains(v, ":") {
			pairs = append(pairs, [2]string{v, "0:" + v}, [2]string{v, "1:" + v})
		}
	}
	claims := make([][3]string, len(pairs))
	got := make([]int, len(pairs))
	for i, p := range pairs {
		r, err := dpkg.Compare(p[0], p[1])
		if err != nil {
			t.Fatalf("Compare(%q, %q): %v", p[0], p[1], err)
		}
		got[i] = r
		claims[i] = [3]string{p[0], versiontest.Relation(r), p[1]}
	}
	holds := versiontest.DpkgHolds(t, claims)
	counts := map[int]int{}
	for i, p := range pairs {
		counts[got[i]]++
		if holds[i] != "1" {
			t.Errorf("Compare(%q, %q) = %d; dpkg disagrees (%s)", p[0], p[1], got[i], holds[i])
		}
	}
	t.Logf("%d versions, %d pairs: %d lt, %d eq, %d gt",
		c.count(), len(pairs), counts[-1], counts[0], counts[1])
	checkSpread(t, len(pairs)-len(dpkgHard), counts)
}

// rpmHard are the classic hard cases of rpm order.
var rpmHard = [][2]string{
	{"1.0", "0:1.0"}, {"1:1.0-1", "2.0-1"}, {"0:1.0-1", "1.0-1"}, {"01:1.0", "1:1.0"},
	{"1.0~rc1-1", "1.0-1"}, {"1.0~rc1", "1.0~rc2"}, {"1.0~~", "1.0~"}, {"1.0~", "1.0"},
	{"1.0^git1-1", "1.0-1"}, {"1.0^git1", "1.0.1"}, {"1.0^", "1.0"}, {"1.0^", "1.0~"},
	{"1.0^git1~pre", "1.0^git1"}, {"1.0", "1.0-1"}, {"1.0-1-2", "1.0-1-3"},
	{"1.0_1", "1.0.1"}, {"1..0", "1.0"}, {"1.0a", "1.0.1"}, {"1.0", "1.0a"},
	{"a", "1"}, {"1.01", "1.1"}, {"1.0-1.el8", "1.0-1.el8_4"},
	{"3:10.3.39-1.module_el8.8.0+3609+204d4ab0", "3:10.3.28-1.module_el8.3.0+2177+7adc332a"},
	{"0:3.3.1-2.module+el9.4.0+1", "3.3.1-2.module+el9.4.0+1"},
	{"11.0.13.0.8-1.el8_4", "1:11.0.13.0.8-1.el8_4"},
}

// TestRPMAgainstTool holds rpm.Compare against rpm's own vercmp on real
// EVRs from the Red Hat family fixtures and on the hard cases.
func TestRPMAgainstTool(t *testing.T) {
	ocitest.Tool(t, "rpm")
	c := rpmVersions(t)
	pairs := append(c.pairs(minPairs), rpmHard...)
	want := rpmOrder(t, pairs)
	counts := map[int]int{}
	for i, p := range pairs {
		got, err := rpm.Compare(p[0], p[1])
		if err != nil || got != want[i] {
			t.Errorf("Compare(%q, %q) = %d, %v; rpm says %d", p[0], p[1], got, err, want[i])
		}
		counts[want[i]]++
	}
	t.Logf("%d versions, %d pairs: %d lt, %d eq, %d gt",
		c.count(), len(pairs), counts[-1], counts[0], counts[1])
	checkSpread(t, len(pairs)-len(rpmHard), counts)
}

// checkSpread fails when the corpus gave too few pairs or one-sided ones,
// which would make the suite unable to catch a reversed order.
func checkSpread(t *testing.T, real int, counts map[int]int) {
	t.Helper()
	if real < minPairs {
		t.Errorf("only %d real pairs, want at least %d", real, minPairs)
	}
	if counts[-1] < real/10 || counts[1] < real/10 {
		t.Errorf("pairs are one-sided: %v", counts)
	}
}
