package conformance_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

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
