package gem_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/versiontest"

	"crawlspace.dev/services/matcher/version/gem"
)

// TestCompare cites Gem::Version's documented order: a letter makes a
// prerelease, segments compare numerically, trailing zeros do not count.
func TestCompare(t *testing.T) {
	versiontest.Check(t, gem.Compare, []versiontest.Case{
		{"prerelease before release", "1.0.a", "1.0", -1},
		{"rc before release", "1.0.0.rc1", "1.0.0", -1},
		{"letters split segments", "1.0rc1", "1.0", -1},
		{"trailing zeros equal", "1.2", "1.2.0", 0},
		{"numeric not lexical", "1.10", "1.9", 1},
		{"prerelease letters ordered", "1.0.a", "1.0.b", -1},
		{"release after every prerelease", "2.0.0", "2.0.0.pre.10", 1},
	})
}

func TestCompareInvalid(t *testing.T) {
	versiontest.CheckInvalid(t, gem.Compare, "abc", "1.0+local", "1..0")
}

// FuzzCompare checks that Compare never panics and is an order:
// reflexive and antisymmetric on every pair it accepts.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1.0.a", "1.0"}, {"2.0.0.rc1", "2.0"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := gem.Compare(a, b)
		ba, errB := gem.Compare(b, a)
		if (errA == nil) != (errB == nil) || ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, %v but reversed %d, %v", a, b, ab, errA, ba, errB)
		}
		if self, err := gem.Compare(a, a); errA == nil && (err != nil || self != 0) {
			t.Fatalf("Compare(%q, itself) = %d, %v", a, self, err)
		}
	})
}
