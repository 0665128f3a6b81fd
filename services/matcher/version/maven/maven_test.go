package maven_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/versiontest"

	"crawlspace.dev/services/matcher/version/maven"
)

// TestCompare holds every example of the POM reference's "Version Order
// Specification" (maven.apache.org/pom.html, as corrected in maven-site
// PR #707 to state what ComparableVersion does).
func TestCompare(t *testing.T) {
	versiontest.Check(t, maven.Compare, []versiontest.Case{
		{"number padding", "1", "1.1", -1},
		{"snapshot before release", "1-snapshot", "1", -1},
		{"release before sp", "1", "1-sp", -1},
		{"switching to numeric order", "1-foo2", "1-foo10", -1},
		{"dot qualifier equals hyphen qualifier", "1.foo", "1-foo", 0},
		{"qualifier before hyphen number", "1-foo", "1-1", -1},
		{"hyphen number before dot number", "1-1", "1.1", -1},
		{"trailing ga", "1.ga", "1", 0},
		{"trailing hyphen ga", "1-ga", "1", 0},
		{"trailing hyphen zero", "1-0", "1", 0},
		{"trailing dot zero", "1.0", "1", 0},
		{"sp after ga", "1-sp", "1-ga", 1},
		{"sp.1 after ga.1", "1-sp.1", "1-ga.1", 1},
		{"sp-1 before ga-1", "1-sp-1", "1-ga-1", -1},
		{"a1 means alpha-1", "1-a1", "1-alpha-1", 0},
		{"case insensitive", "1.0-alpha1", "1.0-ALPHA1", 0},
		{"number after letter", "1.7", "1.K", 1},
		{"unknown qualifiers alphabetical", "5.zebra", "5.aardvark", 1},
		{"non-ASCII after ASCII", "1.α", "1.b", 1},
		{"alpha before beta", "1.0-alpha", "1.0-beta", -1},
		{"milestone before rc", "1.0-m1", "1.0-rc1", -1},
		{"cr equals rc", "1.0-cr1", "1.0-rc1", 0},
		{"rc before snapshot", "1.0-rc1", "1.0-SNAPSHOT", -1},
		{"final equals release", "2.0.Final", "2.0", 0},
		{"numeric not lexical", "1.10", "1.9", 1},
		{"long numbers", "1.20260101000000", "1.20251231000000", 1},
	})
}

func TestCompareInvalid(t *testing.T) {
	versiontest.CheckInvalid(t, maven.Compare, "", "1.0 beta")
}

// FuzzCompare checks that Compare never panics and is an order:
// reflexive and antisymmetric on every pair it accepts.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1-sp-1", "1-ga-1"}, {"1.0.Final", "1.0-rc1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := maven.Compare(a, b)
		ba, errB := maven.Compare(b, a)
		if (errA == nil) != (errB == nil) || ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, %v but reversed %d, %v", a, b, ab, errA, ba, errB)
		}
		if self, err := maven.Compare(a, a); errA == nil && (err != nil || self != 0) {
			t.Fatalf("Compare(%q, itself) = %d, %v", a, self, err)
		}
	})
}
