package gomod_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/versiontest"

	"crawlspace.dev/services/matcher/version/gomod"
)

// TestCompare cites the go command's version order (go help
// module-versions): semver with a v prefix, pseudo-versions as
// prereleases, build metadata ignored.
func TestCompare(t *testing.T) {
	versiontest.Check(t, gomod.Compare, []versiontest.Case{
		{"OSV form without v", "1.2.3", "v1.2.4", -1},
		{"both without v", "0.9.0", "0.10.0", -1},
		{"prerelease before release", "v1.0.0-rc.1", "v1.0.0", -1},
		{"pseudo-version before release", "v0.0.0-20200101000000-abcdefabcdef", "v0.0.1", -1},
		{"pseudo-versions by time", "v1.2.4-0.20200101000000-abcdefabcdef",
			"v1.2.4-0.20210101000000-abcdefabcdef", -1},
		{"incompatible is build metadata", "v2.0.0+incompatible", "v2.0.0", 0},
		{"shorthand", "v1.2", "v1.2.0", 0},
		{"stdlib style", "1.21.5", "1.21.10", -1},
	})
}

func TestCompareInvalid(t *testing.T) {
	versiontest.CheckInvalid(t, gomod.Compare, "", "abc", "1.0.0.0", "vv1.0.0")
}

// FuzzCompare checks that Compare never panics and is an order:
// reflexive and antisymmetric on every pair it accepts.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1.2.3", "v1.2.4"},
		{"v0.0.0-20200101000000-abcdefabcdef", "v2.0.0+incompatible"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := gomod.Compare(a, b)
		ba, errB := gomod.Compare(b, a)
		if (errA == nil) != (errB == nil) || ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, %v but reversed %d, %v", a, b, ab, errA, ba, errB)
		}
		if self, err := gomod.Compare(a, a); errA == nil && (err != nil || self != 0) {
			t.Fatalf("Compare(%q, itself) = %d, %v", a, self, err)
		}
	})
}
