package dpkg_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"crawlspace.dev/services/platform/fixtures"

	"crawlspace.dev/services/matcher/version/dpkg"
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
			if oracle := dpkgOracle(t, [][2]string{{tt.a, tt.b}}); oracle[0] != tt.want {
				t.Errorf("dpkg says %q vs %q is %d; the case expects %d",
					tt.a, tt.b, oracle[0], tt.want)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dpkg.Compare(tt.a, tt.b); err == nil {
				t.Errorf("Compare(%q, %q) returned no error", tt.a, tt.b)
			}
		})
	}
}

// TestCompareAgainstDpkg checks Compare against dpkg itself on pairs of
// real versions of the same source package from Debian's DSA and DLA lists.
func TestCompareAgainstDpkg(t *testing.T) {
	if testing.Short() {
		t.Skip("runs dpkg a few thousand times")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg is not installed")
	}
	pairs := realPairs(t, fixtures.Path(t, "notices/debian/DSA-list"),
		fixtures.Path(t, "notices/debian/DLA-list"))
	if len(pairs) < 2000 {
		t.Fatalf("found %d version pairs, want at least 2000", len(pairs))
	}
	want := dpkgOracle(t, pairs)
	counts := map[int]int{}
	bad := 0
	for i, p := range pairs {
		got, err := dpkg.Compare(p[0], p[1])
		if err != nil || got != want[i] {
			bad++
			t.Errorf("Compare(%q, %q) = %d, %v; dpkg says %d", p[0], p[1], got, err, want[i])
		}
		counts[want[i]]++
	}
	t.Logf("%d pairs: %d lt, %d eq, %d gt, %d disagreements",
		len(pairs), counts[-1], counts[0], counts[1], bad)
	if counts[-1] == 0 || counts[1] == 0 {
		t.Errorf("pairs are one-sided: %v", counts)
	}
}

// maxPairs bounds the oracle's work: dpkg runs once or twice per pair.
const maxPairs = 3000

// realPairs scans `[suite] - pkg version` lines and pairs each version of a
// package with the previous distinct one seen for it, alternating the order
// so that both lt and gt occur. Versions without an epoch are also paired
// with themselves under an explicit "0:", which dpkg calls equal. At most
// maxPairs pairs, spread evenly over the files, are kept.
func realPairs(t *testing.T, files ...string) [][2]string {
	t.Helper()
	seen := map[[2]string]bool{}
	last := map[string]string{}
	var pairs [][2]string
	add := func(p [2]string) {
		if !seen[p] && !seen[[2]string{p[1], p[0]}] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(data)) {
			pkg, ver, ok := suiteLine(line)
			if !ok {
				continue
			}
			prev, had := last[pkg]
			last[pkg] = ver
			if had && prev != ver {
				if len(pairs)%2 == 0 {
					prev, ver = ver, prev
				}
				add([2]string{prev, ver})
			}
			if !strings.Contains(ver, ":") && len(pairs)%10 == 0 {
				add([2]string{ver, "0:" + ver})
			}
		}
	}
	return spread(pairs, maxPairs)
}

// spread returns at most n of pairs, taken at an even stride.
func spread(pairs [][2]string, n int) [][2]string {
	if len(pairs) <= n {
		return pairs
	}
	out := make([][2]string, 0, n)
	for i := range n {
		out = append(out, pairs[i*len(pairs)/n])
	}
	return out
}

// suiteLine parses "[bullseye] - curl 7.74.0-1.3+deb11u7", skipping
// annotations such as <not-affected> in place of a version.
func suiteLine(line string) (pkg, ver string, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "[") || f[1] != "-" {
		return "", "", false
	}
	if f[3] == "" || f[3][0] < '0' || f[3][0] > '9' {
		return "", "", false
	}
	return f[2], f[3], true
}

// oracleScript prints -1, 0 or 1 for each "a b" line on stdin, as dpkg
// orders them, or "err" when dpkg rejects a version.
const oracleScript = `
while read -r a b; do
	dpkg --compare-versions "$a" lt "$b" 2>/dev/null; r=$?
	if [ $r -eq 0 ]; then echo -1; continue; fi
	if [ $r -ne 1 ]; then echo err; continue; fi
	if dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi
done`

// dpkgOracle asks dpkg to order every pair, in two shells at once.
func dpkgOracle(t *testing.T, pairs [][2]string) []int {
	t.Helper()
	const shards = 2
	out := make([]int, len(pairs))
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for s := range shards {
		wg.Go(func() { errs[s] = oracleShard(pairs, out, s, shards) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// oracleShard orders pairs s, s+n, s+2n... into out.
func oracleShard(pairs [][2]string, out []int, s, n int) error {
	var in strings.Builder
	var idx []int
	for i := s; i < len(pairs); i += n {
		fmt.Fprintf(&in, "%s %s\n", pairs[i][0], pairs[i][1])
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return nil
	}
	cmd := exec.Command("sh", "-c", oracleScript)
	cmd.Stdin = strings.NewReader(in.String())
	res, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("run dpkg oracle: %w", err)
	}
	lines := strings.Fields(string(res))
	if len(lines) != len(idx) {
		return fmt.Errorf("dpkg oracle gave %d answers for %d pairs", len(lines), len(idx))
	}
	for j, l := range lines {
		switch l {
		case "-1":
			out[idx[j]] = -1
		case "0":
			out[idx[j]] = 0
		case "1":
			out[idx[j]] = 1
		default:
			return fmt.Errorf("dpkg rejects %q vs %q", pairs[idx[j]][0], pairs[idx[j]][1])
		}
	}
	return nil
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
