package compliance_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crawlspace.dev/services/compliance"
)

// TestBuiltinRulesCompile guards New: every built-in rule compiles.
func TestBuiltinRulesCompile(t *testing.T) {
	set, err := compliance.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(set.Rules()); n < 40 {
		t.Errorf("%d built-in rules, want at least 40", n)
	}
}

func mustRules(t testing.TB) *compliance.RuleSet {
	t.Helper()
	set, err := compliance.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func writeRules(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBadRules checks that each broken rule is reported at load with its
// file and id.
func TestBadRules(t *testing.T) {
	tests := []struct {
		name, rule string
		want       []string
	}{
		{"syntax", "check: \"files.filter(f, \"", []string{"site.yaml", "rule site-x",
			"compile check"}},
		{"unknown field", "check: \"files.filter(f, f.colour == 'red')\"",
			[]string{"rule site-x", "colour"}},
		{"wrong type", "check: \"true\"", []string{"rule site-x", "want list"}},
		{"applies not bool", "applies: \"1\"\n    check: \"[]\"",
			[]string{"rule site-x", "compile applies"}},
		{"bad category", "category: network\n    check: \"[]\"", []string{"category"}},
		{"unknown key", "chek: \"[]\"", []string{"site.yaml", "chek"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "rules:\n  - id: site-x\n    title: x\n    severity: low\n"
			if !strings.Contains(tt.rule, "category:") {
				text += "    category: other\n"
			}
			_, err := compliance.LoadRules(writeRules(t, text+"    "+tt.rule+"\n"))
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestUserRules adds a rule and replaces a built-in one from a directory.
func TestUserRules(t *testing.T) {
	dir := writeRules(t, `rules:
  - id: site-no-curl
    category: other
    severity: low
    title: curl is not installed
    applies: "!image.scratch"
    check: "'curl' in installed ? [violation('', 0, 'curl', 'no curl')] : []"
  - id: image-user-root
    category: image
    severity: high
    title: Image runs as uid 1000
    check: "image.user == '1000' ? [] : [violation('', 0, image.user, '1000')]"
`)
	set, err := compliance.LoadRules(dir)
	if err != nil {
		t.Fatal(err)
	}
	builtin := mustRules(t)
	if got, want := len(set.Rules()), len(builtin.Rules())+1; got != want {
		t.Errorf("%d rules, want %d", got, want)
	}
	v, err := compliance.NewView(&compliance.Features{Config: []byte(`{"config":{"User":"app"}}`),
		Packages: []compliance.Package{{Name: "curl"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]compliance.Status{}
	for _, r := range set.Evaluate(v) {
		got[r.Rule.ID] = r.Status
	}
	if got["site-no-curl"] != compliance.StatusFail || got["image-user-root"] !=
		compliance.StatusFail {
		t.Errorf("site-no-curl %s, image-user-root %s; want both fail", got["site-no-curl"],
			got["image-user-root"])
	}
}

// TestMalformedConfig ends every rule that reads sshd in error, not in a
// pass on defaults, when sshd_config is one sshd itself would refuse.
func TestMalformedConfig(t *testing.T) {
	v, err := compliance.NewView(&compliance.Features{
		Packages:    []compliance.Package{{Name: "openssh-server"}},
		ConfigFiles: map[string]string{"/etc/ssh/sshd_config": "Banner \"/etc/issue\n"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mustRules(t).Evaluate(v) {
		isSSH := strings.HasPrefix(r.Rule.ID, "ssh-")
		if isSSH != (r.Status == compliance.StatusError) {
			t.Errorf("%s = %s %v", r.Rule.ID, r.Status, r.Evidence)
		}
	}
}

func FuzzLoadRules(f *testing.F) {
	f.Add("rules:\n  - id: a\n    category: other\n    severity: low\n    title: t\n" +
		"    check: \"[]\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := compliance.LoadRules(dir)
		if err != nil {
			return
		}
		v, err := compliance.NewView(&compliance.Features{})
		if err != nil {
			t.Fatal(err)
		}
		_ = set.Evaluate(v)
	})
}
