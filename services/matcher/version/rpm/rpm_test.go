package rpm_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/rpm"
)

// case_ is one named comparison and its documented answer.
type case_ struct {
	name string
	a, b string
	want int
}

func check(t *testing.T, tests []case_) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rpm.Compare(tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if rev, _ := rpm.Compare(tt.b, tt.a); rev != -tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, rev, -tt.want)
			}
		})
	}
}

func checkInvalid(t *testing.T, bad ...string) {
	t.Helper()
	for _, v := range bad {
		t.Run(v, func(t *testing.T) {
			if _, err := rpm.Compare(v, "1.0.0"); err == nil {
				t.Errorf("Compare(%q, ...) accepted an invalid version", v)
			}
		})
	}
}

// TestCompare names rpm's hard cases; each answer is rpm's own (the
// conformance package holds them against rpm.vercmp).
func TestCompare(t *testing.T) {
	check(t, []case_{
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
	checkInvalid(t, "", "1.0 -1", "1:")
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
