package pep440_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/versiontest"

	"crawlspace.dev/services/matcher/version/pep440"
)

// TestCompare cites PEP 440's ordering section: dev < pre < release <
// post, epochs first, local labels after the public version.
func TestCompare(t *testing.T) {
	versiontest.Check(t, pep440.Compare, []versiontest.Case{
		{"rc before release", "1.0rc1", "1.0", -1},
		{"dev before alpha", "1.0.dev0", "1.0a1", -1},
		{"alpha before beta", "1.0a2", "1.0b1", -1},
		{"release before post", "1.0", "1.0.post1", -1},
		{"post dev before post", "1.0.post1.dev1", "1.0.post1", -1},
		{"epoch wins", "1!1.0", "2.0", 1},
		{"local label after public", "1.0+local", "1.0", 1},
		{"trailing zeros equal", "1.2", "1.2.0", 0},
		{"normalized spelling", "1.0RC1", "1.0rc1", 0},
		{"alternate spelling", "1.0-alpha.1", "1.0a1", 0},
		{"v prefix", "v1.2.3", "1.2.4", -1},
		{"numeric not lexical", "1.10", "1.9", 1},
	})
}

func TestCompareInvalid(t *testing.T) {
	versiontest.CheckInvalid(t, pep440.Compare, "", "abc", "1.0.0-", "1..0")
}

// FuzzCompare checks that Compare never panics and is an order:
// reflexive and antisymmetric on every pair it accepts.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1.0rc1", "1.0"}, {"1!2.0.post1", "2.0+local"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := pep440.Compare(a, b)
		ba, errB := pep440.Compare(b, a)
		if (errA == nil) != (errB == nil) || ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, %v but reversed %d, %v", a, b, ab, errA, ba, errB)
		}
		if self, err := pep440.Compare(a, a); errA == nil && (err != nil || self != 0) {
			t.Fatalf("Compare(%q, itself) = %d, %v", a, self, err)
		}
	})
}
