package gem_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version/gem"
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
			got, err := gem.Compare(tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if rev, _ := gem.Compare(tt.b, tt.a); rev != -tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, rev, -tt.want)
			}
		})
	}
}

func checkInvalid(t *testing.T, bad ...string) {
	t.Helper()
	for _, v := range bad {
		t.Run(v, func(t *testing.T) {
			if _, err := gem.Compare(v, "1.0.0"); err == nil {
				t.Errorf("Compare(%q, ...) accepted an invalid version", v)
			}
		})
	}
}

// TestCompare cites Gem::Version's documented order: a letter makes a
// prerelease, segments compare numerically, trailing zeros do not count.
func TestCompare(t *testing.T) {
	check(t, []case_{
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
	checkInvalid(t, "abc", "1.0+local", "1..0")
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
