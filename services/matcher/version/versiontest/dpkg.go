package versiontest

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"crawlspace.dev/services/internal/ocitest"
)

// Relation names the order c (-1, 0 or 1) as dpkg --compare-versions
// spells it: lt, eq or gt.
func Relation(c int) string {
	switch c {
	case -1:
		return "lt"
	case 0:
		return "eq"
	}
	return "gt"
}

// dpkgScript reads "a op b" lines and prints, for each, 1 when dpkg says
// the relation holds, 0 when it does not, and e when dpkg rejects a version.
const dpkgScript = `
while read -r a op b; do
	dpkg --compare-versions "$a" "$op" "$b" 2>/dev/null; r=$?
	case $r in 0) echo 1;; 1) echo 0;; *) echo e;; esac
done`

// DpkgHolds asks dpkg itself whether each claim "a op b" holds, where op is
// lt, eq or gt, and returns "1", "0" or "e" (dpkg rejects a version) for
// each. Asking for the claimed relation costs one dpkg run per claim and
// still catches every disagreement. Two shells share the work.
func DpkgHolds(t *testing.T, claims [][3]string) []string {
	t.Helper()
	ocitest.Tool(t, "dpkg")
	const shards = 2
	out := make([]string, len(claims))
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for s := range shards {
		wg.Go(func() { errs[s] = dpkgShard(claims, out, s, shards) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// dpkgShard answers claims s, s+n, s+2n... into out.
func dpkgShard(claims [][3]string, out []string, s, n int) error {
	var in strings.Builder
	var idx []int
	for i := s; i < len(claims); i += n {
		fmt.Fprintf(&in, "%s %s %s\n", claims[i][0], claims[i][1], claims[i][2])
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return nil
	}
	cmd := exec.Command("sh", "-c", dpkgScript)
	cmd.Stdin = strings.NewReader(in.String())
	res, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("run dpkg oracle: %w", err)
	}
	lines := strings.Fields(string(res))
	if len(lines) != len(idx) {
		return fmt.Errorf("dpkg oracle gave %d answers for %d claims", len(lines), len(idx))
	}
	for j, l := range lines {
		out[idx[j]] = l
	}
	return nil
}
