package python_test

import (
	"testing"

	"crawlspace.dev/services/crawler/pkgdb/python"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, pkg, version string
		ok                     bool
	}{
		{"metadata", "Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\n" +
			"Summary: x\n\nName: body\n", "Jinja2", "3.1.2", true},
		{"crlf", "Name: six\r\nVersion: 1.16.0\r\n", "six", "1.16.0", true},
		{"no version", "Name: six\n", "six", "", false},
		{"body only", "\nName: six\nVersion: 1\n", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, v, ok := python.Parse(tt.in)
			if n != tt.pkg || v != tt.version || ok != tt.ok {
				t.Errorf("Parse = %q, %q, %v; want %q, %q, %v", n, v, ok, tt.pkg, tt.version,
					tt.ok)
			}
		})
	}
}

func TestIsMetadataPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA": true,
		"/usr/lib/python3/dist-packages/foo.egg-info/PKG-INFO":         true,
		"/usr/lib/python3/dist-packages/foo-1.0.egg-info":              true,
		"/usr/lib/python3/dist-packages/foo/METADATA":                  false,
		"/METADATA": false,
	} {
		t.Run(p, func(t *testing.T) {
			if got := python.IsMetadataPath(p); got != want {
				t.Errorf("IsMetadataPath(%q) = %v", p, got)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("Name: six\nVersion: 1.16.0\n")
	f.Fuzz(func(t *testing.T, s string) {
		if n, v, ok := python.Parse(s); ok && (n == "" || v == "") {
			t.Fatalf("ok without name or version: %q %q", n, v)
		}
	})
}
