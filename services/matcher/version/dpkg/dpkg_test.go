package dpkg_test

import (
	"cmp"
	"os"
	"regexp"
	"strings"
	"testing"

	debversion "github.com/knqyf263/go-deb-version"

	"crawlspace.dev/services/matcher/version/dpkg"
	"crawlspace.dev/services/matcher/version/versiontest"
	"crawlspace.dev/services/platform/fixtures"
)

func TestCompareNamed(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"missing epoch equals explicit zero", "1.0", "0:1.0", 0},
		{"explicit zero equals missing epoch", "0:1.0-1", "1.0-1", 0},
		{"tilde sorts before release", "1.0~rc1", "1.0", -1},
		{"tilde and end sort before tilde and letters", "1.0~", "1.0~rc1", -1},
		{"double tilde", "1.0~~", "1.0~", -1},
		{"epoch beats upstream", "1:2.0", "3.0", 1},
		{"epoch beats upstream reversed", "3.0", "1:2.0", -1},
		{"really is a plain string", "1.4+really1.3.36+hg16481-2+deb11u1", "1.4-1", 1},
		{"really keeps older upstream above", "1.4+really1.3.36-1", "1.4", 1},
		{"binnmu is newer", "2.36-9+deb12u1+b1", "2.36-9+deb12u1", 1},
		{"security upload is newer", "7.74.0-1.3+deb11u7", "7.74.0-1.3+deb11u3", 1},
		{"backport tilde is older", "102.9.0-1~deb11u1", "102.9.0-1", -1},
		{"numeric not lexical", "1.10", "1.9", 1},
		{"letters before symbols", "1.0a", "1.0+", -1},
		{"empty revision equals zero", "1.0", "1.0-0", 0},
		{"hyphen in upstream", "2:1.20.11-1+deb11u6", "2:1.20.11-1+deb11u5", 1},
		{"equal", "8:6.9.11.60+dfsg-1.3+deb11u1", "8:6.9.11.60+dfsg-1.3+deb11u1", 0},
		{"long digit runs compare exactly", "1.99999999999999999999999",
			"1.99999999999999999999998", 1},
		{"leading zeros ignored", "1.001", "1.1", 0},
		{"common prefix ends inside a digit run", "1.19", "1.2", 1},
		{"common prefix ends inside zeros", "1.005", "1.0010", -1},
		{"blanks around are ignored", " 1.0 ", "1.0", 0},
		{"colon in upstream after epoch", "1:2.0:3-1", "1:2.0:2-1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dpkg.Compare(tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			claim := [3]string{tt.a, versiontest.Relation(tt.want), tt.b}
			if holds := versiontest.DpkgHolds(t, [][3]string{claim}); holds[0] != "1" {
				t.Errorf("dpkg says %q %s %q does not hold (%s); the case expects it",
					tt.a, claim[1], tt.b, holds[0])
			}
		})
	}
}

func TestCompareInvalid(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{"empty", "", "1.0"},
		{"letter start", "1.0", "abc"},
		{"bad epoch", "x:1.0", "1.0"},
		{"bad character", "1.0", "1.0 beta"},
		{"empty revision", "1.0-", "1.0"},
		{"empty epoch", ":1.0", "1.0"},
		{"epoch too big", "2147483648:1.0", "1.0"},
		{"colon in revision", "1:1.0-1:2", "1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dpkg.Compare(tt.a, tt.b); err == nil {
				t.Errorf("Compare(%q, %q) returned no error", tt.a, tt.b)
			}
		})
	}
}

// FuzzCompare checks that Compare is an order (reflexive, antisymmetric)
// and agrees with go-deb-version, an independent implementation, wherever
// both accept the input and digit runs are short enough for the library.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{{"1.0", "0:1.0"}, {"1.0~rc1", "1.0"},
		{"2:1.20.11-1+deb11u6", "1.20.11-1"}, {"1.4+really1.3.36-1", "1.4-1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := dpkg.Compare(a, b)
		ba, errB := dpkg.Compare(b, a)
		if (errA == nil) != (errB == nil) || ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d, %v but reversed %d, %v", a, b, ab, errA, ba, errB)
		}
		if errA != nil {
			return
		}
		if self, _ := dpkg.Compare(a, a); self != 0 {
			t.Fatalf("Compare(%q, itself) = %d", a, self)
		}
		if longRun.MatchString(a) || longRun.MatchString(b) {
			return
		}
		va, err1 := debversion.NewVersion(a)
		vb, err2 := debversion.NewVersion(b)
		if err1 == nil && err2 == nil && cmp.Compare(va.Compare(vb), 0) != ab {
			t.Fatalf("Compare(%q, %q) = %d; go-deb-version says %d", a, b, ab, va.Compare(vb))
		}
	})
}

// longRun matches digit runs too long for go-deb-version's integers.
var longRun = regexp.MustCompile(`[0-9]{18}`)

// BenchmarkCompareReal orders consecutive versions of the DSA list's suite
// lines: the kind of pairs a matcher compares.
func BenchmarkCompareReal(b *testing.B) {
	data, err := os.ReadFile(fixtures.Path(b, "notices/debian/DSA-list"))
	if err != nil {
		b.Fatal(err)
	}
	var vs []string
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 4 && strings.HasPrefix(f[0], "[") && dpkg.Valid(f[3]) {
			vs = append(vs, f[3])
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		i := n % (len(vs) - 1)
		if _, err := dpkg.Compare(vs[i], vs[i+1]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "comparisons/s")
}

func BenchmarkCompare(b *testing.B) {
	pairs := [][2]string{
		{"2:1.20.11-1+deb11u6", "2:1.20.11-1+deb11u5"},
		{"1:102.9.0-1~deb11u1", "1:102.9.0-1"},
		{"1.4+really1.3.36+hg16481-2+deb11u1", "1.4-1"},
		{"8:6.9.11.60+dfsg-1.3+deb11u1", "8:6.9.11.60+dfsg-1.3"},
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		p := pairs[n%len(pairs)]
		if _, err := dpkg.Compare(p[0], p[1]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "comparisons/s")
}
