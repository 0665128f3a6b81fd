package conformance_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// needTool skips, or under CI fails, when an oracle is not installed.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is the oracle and is not installed", name)
		}
		t.Skipf("%s is not installed", name)
	}
}

// dpkgScript reads "a op b" lines and prints, for each, 1 when dpkg says
// the relation holds, 0 when it does not, and e when dpkg rejects a version.
const dpkgScript = `
while read -r a op b; do
	dpkg --compare-versions "$a" "$op" "$b" 2>/dev/null; r=$?
	case $r in 0) echo 1;; 1) echo 0;; *) echo e;; esac
done`

// dpkgHolds asks dpkg whether each claim "a op b" holds, where op is lt, eq
// or gt. Asking for the claimed relation costs one dpkg run per pair and
// still catches every disagreement. Two shells share the work.
func dpkgHolds(t *testing.T, claims [][3]string) []string {
	t.Helper()
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

func dpkgShard(claims [][3]string, out []string, s, n int) error {
	var in strings.Builder
	var idx []int
	for i := s; i < len(claims); i += n {
		fmt.Fprintf(&in, "%s %s %s\n", claims[i][0], claims[i][1], claims[i][2])
		idx = append(idx, i)
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

// rpmOrder asks rpm's own vercmp, through rpm's embedded Lua, to order
// every pair, in one rpm run. A pair rpm rejects is reported as 2.
func rpmOrder(t *testing.T, pairs [][2]string) []int {
	t.Helper()
	var lua strings.Builder
	lua.WriteString("local p = {\n")
	for _, p := range pairs {
		fmt.Fprintf(&lua, "{%s,%s},\n", luaString(t, p[0]), luaString(t, p[1]))
	}
	lua.WriteString(`}
for _, v in ipairs(p) do
	local ok, r = pcall(rpm.vercmp, v[1], v[2])
	if ok then io.write(r, "\n") else io.write("2\n") end
end
`)
	script := filepath.Join(t.TempDir(), "pairs.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("rpm", "--eval", `%{lua: dofile("`+script+`")}`)
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("run rpm oracle: %v", err)
	}
	lines := strings.Fields(string(res))
	if len(lines) != len(pairs) {
		t.Fatalf("rpm oracle gave %d answers for %d pairs", len(lines), len(pairs))
	}
	out := make([]int, len(lines))
	for i, l := range lines {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("rpm oracle answer %q: %v", l, err)
		}
		out[i] = n
	}
	return out
}

// luaString quotes s as a Lua long string.
func luaString(t *testing.T, s string) string {
	t.Helper()
	if strings.Contains(s, "]==]") {
		t.Fatalf("version %q cannot be quoted for Lua", s)
	}
	return "[==[" + s + "]==]"
}

// relation names the dpkg operator for an order.
func relation(c int) string {
	switch c {
	case -1:
		return "lt"
	case 0:
		return "eq"
	}
	return "gt"
}
