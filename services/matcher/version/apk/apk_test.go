package apk_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/versiontest"

	"crawlspace.dev/services/matcher/version/apk"
)

// TestCompare cites apk-tools' order (src/version.c): suffixes
// _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p,
// then the revision -rN.
func TestCompare(t *testing.T) {
	versiontest.Check(t, apk.Compare, []versiontest.Case{
		{"alpha before beta", "1.6_alpha1-r0", "1.6_beta1-r0", -1},
		{"beta before pre", "1.6_beta-r0", "1.6_pre-r0", -1},
		{"pre before rc", "1.6_pre1", "1.6_rc1", -1},
		{"rc before release", "1.6_rc1-r0", "1.6-r0", -1},
		{"release before p", "1.6-r0", "1.6_p1-r0", -1},
		{"git before p", "1.6_git20200101", "1.6_p1", -1},
		{"cvs before svn", "1.6_cvs", "1.6_svn", -1},
		{"hg before p", "1.6_hg", "1.6_p", -1},
		{"suffix number numeric", "1.6_rc10", "1.6_rc9", 1},
		{"bare suffix before numbered", "1.6_rc", "1.6_rc1", -1},
		{"suffix beats revision", "1.6_p1-r0", "1.6-r1", 1},
		{"revision numeric", "1.6-r1", "1.6-r10", -1},
		{"letter after number", "1.6a", "1.6", 1},
		{"letter before next component", "1.6a", "1.6.1", -1},
		{"more components newer", "1.2.3", "1.2", 1},
		{"revision after version", "1.0-r1", "1.0.1-r0", -1},
		{"no revision before r0", "1.0", "1.0-r0", -1},
		{"secdb fix", "2.9.3-r0", "2.9.10-r0", -1},
		{"equal", "2.36.1-r0", "2.36.1-r0", 0},
	})
}

func TestCompareInvalid(t *testing.T) {
	// The empty string is a case go-apk-version gets wrong.
	versiontest.CheckInvalid(t, apk.Compare, "", "abc", "1.0-rX", "1.0_bogus")
}

// FuzzCompare checks that Compare never panics and is an order:
// reflexive and antisymmetric on every pair it accepts.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1.6_rc1-r0", "1.6-r0"}, {"1.2.3_p1", "1.2.3a"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := apk.Compare(a, b)
		ba, errB := apk.Compare(b, a)
		if (errA == nil) != (errB == nil) || ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, %v but reversed %d, %v", a, b, ab, errA, ba, errB)
		}
		if self, err := apk.Compare(a, a); errA == nil && (err != nil || self != 0) {
			t.Fatalf("Compare(%q, itself) = %d, %v", a, self, err)
		}
	})
}
