package rpm_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler/pkgdb/rpm"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/fixtures"
)

// rpmQuery lists the packages of db, copied into a directory under the
// file name rpm looks for, as `rpm --dbpath` reports them.
func rpmQuery(t *testing.T, db, name string) []string {
	t.Helper()
	ocitest.Tool(t, "rpm")
	dir := t.TempDir()
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	qf := `%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}\n`
	cmd := exec.Command("rpm", "--dbpath", dir, "-qa", "--qf", qf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rpm --dbpath %s -qa: %v", dir, err)
	}
	var lines []string
	for line := range strings.Lines(string(out)) {
		lines = append(lines, strings.TrimSpace(line))
	}
	sort.Strings(lines)
	return lines
}

// lines formats pkgs as rpmQuery does, and checks that each one's source
// name and version rebuild its SOURCERPM.
func lines(t *testing.T, pkgs []rpm.Package) []string {
	t.Helper()
	var out []string
	for _, p := range pkgs {
		src := "(none)"
		if p.SourceRPM != "" {
			src = p.SourceRPM
			_, v, ok := strings.Cut(p.SourceVersion, ":")
			if !ok {
				v = p.SourceVersion
			}
			if p.SourceName+"-"+v+".src.rpm" != src {
				t.Errorf("%s: source %s %s does not rebuild %s", p.Name, p.SourceName,
					p.SourceVersion, src)
			}
		}
		out = append(out, strings.Join([]string{p.Name, p.Version, p.Arch, src}, " "))
	}
	sort.Strings(out)
	return out
}

func TestParseAgainstRPM(t *testing.T) {
	tests := []struct {
		file, dbName string
		count        int
	}{
		{"cbl-mariner-2.0.rpmdb.sqlite", "rpmdb.sqlite", 129},
		{"centos-dive-only.Packages", "Packages", 1},
		{"el8-libuuid.Packages", "Packages", 1},
		{"hello-epoch.Packages", "Packages", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := fixtures.Path(t, "pkgdb/rpm/"+tt.file)
			want := rpmQuery(t, path, tt.dbName)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			pkgs, err := rpm.Parse(data, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) != tt.count {
				t.Errorf("got %d packages, want %d", len(pkgs), tt.count)
			}
			if diff := cmp.Diff(want, lines(t, pkgs)); diff != "" {
				t.Errorf("packages differ from rpm -qa (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseNDB reads the SUSE NDB database, which rpm 4.18 cannot.
func TestParseNDB(t *testing.T) {
	data, err := os.ReadFile(fixtures.Path(t, "pkgdb/rpm/sle15-bci.Packages.db"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := rpm.Parse(data, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 30 {
		t.Errorf("got %d packages, want about 40", len(pkgs))
	}
	for _, p := range pkgs {
		if p.Name == "" || p.Version == "" || p.SourceName == "" || !strings.Contains(
			p.Version, "-") {
			t.Errorf("incomplete package %+v", p)
		}
	}
}

func TestParseEpoch(t *testing.T) {
	data, err := os.ReadFile(fixtures.Path(t, "pkgdb/rpm/hello-epoch.Packages"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := rpm.Parse(data, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || !strings.HasPrefix(pkgs[0].Version, "1:") ||
		!strings.HasPrefix(pkgs[0].SourceVersion, "1:") {
		t.Errorf("packages %+v, want one with epoch 1 on both versions", pkgs)
	}
}

func TestParseCorrupt(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte(strings.Repeat("not a database", 500)),
		"sqlite hd": []byte("SQLite format 3\x00" + strings.Repeat("\xff", 200)),
	} {
		t.Run(name, func(t *testing.T) {
			if pkgs, err := rpm.Parse(data, t.TempDir()); err == nil && len(pkgs) > 0 {
				t.Errorf("Parse of %s found %d packages", name, len(pkgs))
			}
		})
	}
}

func TestSplitSourceRPM(t *testing.T) {
	tests := []struct{ in, name, version string }{
		{"openssl-3.0.7-27.el9.src.rpm", "openssl", "3.0.7-27.el9"},
		{"python3-pip-21.2.3-7.el9.src.rpm", "python3-pip", "21.2.3-7.el9"},
		{"kernel-5.14.0-1.nosrc.rpm", "kernel", "5.14.0-1"},
		{"(none)", "", ""},
		{"-1-2.src.rpm", "", ""},
		{"a-1-.src.rpm", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, v, err := rpm.SplitSourceRPM(tt.in)
			if n != tt.name || v != tt.version || (err == nil) != (tt.name != "") {
				t.Errorf("SplitSourceRPM(%q) = %q, %q, %v", tt.in, n, v, err)
			}
		})
	}
}

func FuzzSplitSourceRPM(f *testing.F) {
	f.Add("openssl-3.0.7-27.el9.src.rpm")
	f.Fuzz(func(t *testing.T, s string) {
		n, v, err := rpm.SplitSourceRPM(s)
		if err == nil && (n == "" || v == "" || !strings.Contains(v, "-")) {
			t.Fatalf("SplitSourceRPM(%q) = %q, %q", s, n, v)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("SQLite format 3\x00"))
	f.Add([]byte{0, 0, 0, 0, 0x61, 0x15, 0x06, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = rpm.Parse(data, t.TempDir())
	})
}
