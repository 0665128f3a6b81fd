package npm_test

import (
	"testing"

	"crawlspace.dev/services/crawler/pkgdb/npm"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, pkg, version string
		ok                     bool
	}{
		{"plain", `{"name": "lodash", "version": "4.17.21", "main": "x"}`, "lodash",
			"4.17.21", true},
		{"scoped", `{"name": "@babel/core", "version": "7.22.5"}`, "@babel/core", "7.22.5", true},
		{"no version", `{"name": "x"}`, "x", "", false},
		{"not json", `{"name": `, "", "", false},
		{"wrong types", `{"name": 1, "version": ["1"]}`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, v, ok := npm.Parse([]byte(tt.in))
			if n != tt.pkg || v != tt.version || ok != tt.ok {
				t.Errorf("Parse = %q, %q, %v; want %q, %q, %v", n, v, ok, tt.pkg, tt.version,
					tt.ok)
			}
		})
	}
}

func TestIsInstalledManifest(t *testing.T) {
	for p, want := range map[string]bool{
		"/app/node_modules/lodash/package.json":                      true,
		"/app/node_modules/@babel/core/package.json":                 true,
		"/app/node_modules/a/node_modules/b/package.json":            true,
		"/app/node_modules/lodash/test/package.json":                 false,
		"/app/package.json":                                          false,
		"/app/node_modules/@babel/package.json":                      false,
		"/app/node_modules/.bin/package.json":                        false,
		"/usr/lib/node_modules/npm/node_modules/semver/package.json": true,
	} {
		t.Run(p, func(t *testing.T) {
			if got := npm.IsInstalledManifest(p); got != want {
				t.Errorf("IsInstalledManifest(%q) = %v", p, got)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"name": "lodash", "version": "4.17.21"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, v, ok := npm.Parse(b); ok && (n == "" || v == "") {
			t.Fatalf("ok without name or version: %q %q", n, v)
		}
	})
}
