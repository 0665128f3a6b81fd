// Package versiontest checks a version order against named cases, the same
// way for every scheme under services/matcher/version.
package versiontest

import "testing"

// Case is one named comparison and its documented answer: -1, 0 or 1. It
// is an alias of an unnamed struct so that tables can list cases as
// {"name", "a", "b", -1}.
type Case = struct {
	Name string
	A, B string
	Want int
}

// Check runs every case through compare in both directions, so that an
// order that is not antisymmetric fails too.
func Check(t *testing.T, compare func(a, b string) (int, error), cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got, err := compare(c.A, c.B)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Want {
				t.Errorf("Compare(%q, %q) = %d, want %d", c.A, c.B, got, c.Want)
			}
			if rev, _ := compare(c.B, c.A); rev != -c.Want {
				t.Errorf("Compare(%q, %q) = %d, want %d", c.B, c.A, rev, -c.Want)
			}
		})
	}
}

// CheckInvalid fails for every version in bad that compare accepts.
func CheckInvalid(t *testing.T, compare func(a, b string) (int, error), bad ...string) {
	t.Helper()
	for _, v := range bad {
		t.Run(v, func(t *testing.T) {
			if _, err := compare(v, "1.0.0"); err == nil {
				t.Errorf("Compare(%q, ...) accepted an invalid version", v)
			}
		})
	}
}
