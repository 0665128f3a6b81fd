package dpkg_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler/pkgdb/dpkg"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/fixtures"
)

func parseFixture(t testing.TB, name string) []dpkg.Package {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, "pkgdb/dpkg/"+name))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := dpkg.Parse(string(data))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return pkgs
}

func byName(pkgs []dpkg.Package) map[string]dpkg.Package {
	m := make(map[string]dpkg.Package, len(pkgs))
	for _, p := range pkgs {
		m[p.Name] = p
	}
	return m
}

func TestParseUbuntu1804(t *testing.T) {
	pkgs := parseFixture(t, "ubuntu-18.04.status")
	// 91 stanzas, one of them "deinstall ok config-files" (git).
	if len(pkgs) != 90 {
		t.Errorf("got %d installed packages, want 90", len(pkgs))
	}
	epochs := 0
	for _, p := range pkgs {
		if strings.Contains(p.Version, ":") {
			epochs++
		}
	}
	// The file has 14 epoch versions; the 14th is git's, not installed.
	if epochs != 13 {
		t.Errorf("got %d installed epoch versions, want 13", epochs)
	}
	m := byName(pkgs)
	if _, ok := m["git"]; ok {
		t.Error("git (deinstall ok config-files) counted as installed")
	}
	tests := []dpkg.Package{
		// "Source: util-linux" without a version: the binary's version.
		{Name: "fdisk", Version: "2.31.1-0.4ubuntu3.1", Arch: "amd64",
			SourceName: "util-linux", SourceVersion: "2.31.1-0.4ubuntu3.1"},
		// "Source: xz-utils (5.1.1alpha+20120614-2)": a binNMU's source.
		{Name: "liblzma5", Version: "5.1.1alpha+20120614-2+b3", Arch: "amd64",
			SourceName: "xz-utils", SourceVersion: "5.1.1alpha+20120614-2"},
		// No Source field: the binary is its own source.
		{Name: "bash", Version: "4.4.18-2ubuntu1", Arch: "amd64",
			SourceName: "bash", SourceVersion: "4.4.18-2ubuntu1"},
		// An epoch is kept.
		{Name: "zlib1g", Version: "1:1.2.11.dfsg-0ubuntu2", Arch: "amd64",
			SourceName: "zlib", SourceVersion: "1:1.2.11.dfsg-0ubuntu2"},
	}
	for _, want := range tests {
		t.Run(want.Name, func(t *testing.T) {
			if diff := cmp.Diff(want, m[want.Name]); diff != "" {
				t.Errorf("package mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDebian12(t *testing.T) {
	m := byName(parseFixture(t, "debian-12-gce-subset.status"))
	want := dpkg.Package{Name: "util-linux-extra", Version: "2.38.1-5+b1", Arch: "amd64",
		SourceName: "util-linux", SourceVersion: "2.38.1-5"}
	if diff := cmp.Diff(want, m["util-linux-extra"]); diff != "" {
		t.Errorf("util-linux-extra mismatch (-want +got):\n%s", diff)
	}
}

// TestParseAgainstDpkgQuery checks every fixture against dpkg-query reading
// the same file, the reference reader of the format.
func TestParseAgainstDpkgQuery(t *testing.T) {
	ocitest.Tool(t, "dpkg-query")
	files, err := filepath.Glob(filepath.Join(fixtures.Path(t, "pkgdb/dpkg"), "*.status"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no status fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := dpkgQuery(t, f)
			var got []string
			for _, p := range parseFixture(t, filepath.Base(f)) {
				got = append(got, strings.Join([]string{p.Name, p.Arch, p.Version,
					p.SourceName, p.SourceVersion}, " "))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse disagrees with dpkg-query (-want +got):\n%s", diff)
			}
		})
	}
}

// dpkgQuery lists the installed packages of status file f, in file order.
func dpkgQuery(t *testing.T, f string) []string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return sortLike(t, ocitest.DpkgQuery(t, dir), data)
}

// sortLike orders dpkg-query's lines (sorted by name) as the packages
// appear in the status file, which is the order Parse keeps.
func sortLike(t *testing.T, lines []string, status []byte) []string {
	t.Helper()
	byPkg := make(map[string]string, len(lines))
	for _, l := range lines {
		f := strings.Fields(l)
		byPkg[f[0]+" "+f[1]] = l
	}
	pkgs, err := dpkg.Parse(string(status))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(lines))
	for _, p := range pkgs {
		if l, ok := byPkg[p.Name+" "+p.Arch]; ok {
			out = append(out, l)
			delete(byPkg, p.Name+" "+p.Arch)
		}
	}
	for _, l := range byPkg {
		out = append(out, l)
	}
	return out
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"no colon", "Package: a\nnot a field\n"},
		{"orphan continuation", " continued\nPackage: a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dpkg.Parse(tt.in); err == nil {
				t.Errorf("Parse(%q) succeeded, want an error", tt.in)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(fixtures.Path(f, "pkgdb/dpkg"), "*.status"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, content string) {
		pkgs, err := dpkg.Parse(content)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.SourceName == "" {
				t.Errorf("package without a name: %+v", p)
			}
		}
	})
}

func TestParseStatusD(t *testing.T) {
	// A distroless status.d file: one stanza, no Status field.
	const base = "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n" +
		"Maintainer: Santiago Vila <sanvila@debian.org>\n"
	const tzdata = "Package: tzdata\nSource: tzdata-legacy (2024a-0+deb12u1)\n" +
		"Version: 2024a-0+deb12u1\nArchitecture: all\n"
	tests := []struct {
		name, in string
		want     []dpkg.Package
	}{
		{"no status", base, []dpkg.Package{{Name: "base-files", Version: "12.4+deb12u5",
			Arch: "amd64", SourceName: "base-files", SourceVersion: "12.4+deb12u5"}}},
		{"source", tzdata, []dpkg.Package{{Name: "tzdata", Version: "2024a-0+deb12u1",
			Arch: "all", SourceName: "tzdata-legacy", SourceVersion: "2024a-0+deb12u1"}}},
		{"removed", base + "Status: deinstall ok config-files\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dpkg.ParseStatusD(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("packages mismatch (-want +got):\n%s", diff)
			}
			if plain, _ := dpkg.Parse(tt.in); len(plain) != 0 {
				t.Errorf("Parse counted a stanza without Status: %+v", plain)
			}
		})
	}
}
