package rpm_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/versiontest"

	"crawlspace.dev/services/matcher/version/rpm"
)

// TestCompare names rpm's hard cases; each answer is rpm's own (the
// conformance package holds them against rpm.vercmp).
func TestCompare(t *testing.T) {
	versiontest.Check(t, rpm.Compare, []versiontest.Case{
		{"missing epoch is zero", "0:1.0-1", "1.0-1", 0},
		{"epoch beats version", "1:1.0-1", "2.0-1", 1},
		{"epoch leading zeros", "01:1.0", "1:1.0", 0},
		{"tilde before release", "1.0~rc1-1", "1.0-1", -1},
		{"double tilde", "1.0~~", "1.0~", -1},
		{"caret after release", "1.0^git1-1", "1.0-1", 1},
		{"caret before next component", "1.0^git1", "1.0.1", -1},
		{"bare caret after end", "1.0^", "1.0", 1},
		{"missing release sorts first", "1.0", "1.0-1", -1},
		{"release after last hyphen", "1.0-1-2", "1.0-1-3", -1},
		{"separators equal", "1.0_1", "1.0.1", 0},
		{"letters before numbers", "1.0a", "1.0.1", -1},
		{"el8 before el8_4", "1.0-1.el8", "1.0-1.el8_4", -1},
		{"module release", "3:10.3.39-1.module_el8.8.0+3609+204d4ab0",
			"3:10.3.28-1.module_el8.3.0+2177+7adc332a", 1},
	})
}

func TestCompareInvalid(t *testing.T) {
	versiontest.CheckInvalid(t, rpm.Compare, "", "1.0 -1", "1:")
}

// FuzzCompare checks that Compare never panics and is an order:
// reflexive and antisymmetric on every pair it accepts.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1.0~rc1-1", "1.0-1"}, {"1:1.0^git1", "1.0.1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := rpm.Compare(a, b)
		ba, errB := rpm.Compare(b, a)
		if (errA == nil) != (errB == nil) || ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, %v but reversed %d, %v", a, b, ab, errA, ba, errB)
		}
		if self, err := rpm.Compare(a, a); errA == nil && (err != nil || self != 0) {
			t.Fatalf("Compare(%q, itself) = %d, %v", a, self, err)
		}
	})
}
