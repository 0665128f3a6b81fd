package npm_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/versiontest"

	"crawlspace.dev/services/matcher/version/npm"
)

// TestCompare cites semver 2.0.0 section 11 and npm's loose prefixes.
func TestCompare(t *testing.T) {
	versiontest.Check(t, npm.Compare, []versiontest.Case{
		{"numeric not lexical", "1.10.0", "1.9.0", 1},
		{"prerelease before release", "1.0.0-alpha", "1.0.0", -1},
		{"semver 11 chain alpha", "1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"semver 11 chain alpha.1", "1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"semver 11 chain beta", "1.0.0-beta", "1.0.0-beta.2", -1},
		{"semver 11 chain beta.2", "1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"semver 11 chain rc", "1.0.0-beta.11", "1.0.0-rc.1", -1},
		{"build metadata ignored", "1.0.0+build", "1.0.0", 0},
		// go-npm-version rejects these prefixes, which npm accepts.
		{"v prefix accepted", "v1.2.3", "1.2.4", -1},
		{"equals prefix accepted", "=1.2.3", "1.2.3", 0},
	})
}

func TestCompareInvalid(t *testing.T) {
	versiontest.CheckInvalid(t, npm.Compare, "", "abc", "1.0.0.0.0", "1.0.0-")
}

// FuzzCompare checks that Compare never panics and is an order:
// reflexive and antisymmetric on every pair it accepts.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1.0.0-alpha", "1.0.0"}, {"v2.0.0+b", "2.0.0-rc.1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := npm.Compare(a, b)
		ba, errB := npm.Compare(b, a)
		if (errA == nil) != (errB == nil) || ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, %v but reversed %d, %v", a, b, ab, errA, ba, errB)
		}
		if self, err := npm.Compare(a, a); errA == nil && (err != nil || self != 0) {
			t.Fatalf("Compare(%q, itself) = %d, %v", a, self, err)
		}
	})
}
