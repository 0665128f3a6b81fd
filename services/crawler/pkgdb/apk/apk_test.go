package apk_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler/pkgdb/apk"
	"crawlspace.dev/services/platform/fixtures"
)

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file  string
		count int
		// want is one package the file must hold.
		want apk.Package
	}{
		{"alpine-3.18.installed", 15, apk.Package{Name: "alpine-baselayout", Version: "3.4.3-r1",
			Arch: "x86_64", Origin: "alpine-baselayout"}},
		{"alpine-3.10.4.installed", 14, apk.Package{Name: "libcrypto1.1", Version: "1.1.1d-r2",
			Arch: "x86_64", Origin: "openssl"}},
		{"alpine-3.11.5.installed", 14, apk.Package{Name: "libssl1.1", Version: "1.1.1d-r3",
			Arch: "x86_64", Origin: "openssl"}},
		// One stanza of this file has no V: field.
		{"alpine-3.4.installed", 15, apk.Package{Name: "musl", Version: "1.1.14-r10",
			Arch: "x86_64", Origin: "musl"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(fixtures.Path(t, "pkgdb/apk/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			pkgs, err := apk.Parse(string(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) != tt.count {
				t.Errorf("got %d packages, want %d", len(pkgs), tt.count)
			}
			found := false
			for _, p := range pkgs {
				if p.Name == tt.want.Name {
					found = true
					if diff := cmp.Diff(tt.want, p); diff != "" {
						t.Errorf("package mismatch (-want +got):\n%s", diff)
					}
				}
				if p.Version == "" || p.Origin == "" {
					t.Errorf("package %+v lacks a version or origin", p)
				}
			}
			if !found {
				t.Errorf("no package %s", tt.want.Name)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"P:x\nnot a field\n", "x"} {
		t.Run(in, func(t *testing.T) {
			if _, err := apk.Parse(in); err == nil {
				t.Errorf("Parse(%q) succeeded", in)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\nP:busybox\nV:1.36.1-r2\n")
	f.Fuzz(func(t *testing.T, s string) {
		pkgs, err := apk.Parse(s)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || p.Origin == "" {
				t.Fatalf("package without name or origin: %+v", p)
			}
		}
	})
}
