package version_test

import (
	"testing"

	"crawlspace.dev/services/matcher/version"
)

// TestFor checks that every ecosystem name picks its own order, on a pair
// each scheme orders differently from a plain string comparison.
func TestFor(t *testing.T) {
	tests := []struct {
		name, comparator, a, b string
		want                   int
	}{
		{"dpkg", "dpkg", "1:1.0", "2.0", 1},
		{"rpm", "rpm", "1.0~rc1-1", "1.0-1", -1},
		{"apk", "apk", "1.6_rc1-r0", "1.6-r0", -1},
		{"pypi", "pep440", "1.0rc1", "1.0", -1},
		{"pep440", "pep440", "1.0.post1", "1.0", 1},
		{"npm", "npm", "1.0.0-beta.11", "1.0.0-beta.2", 1},
		{"gem", "gem", "1.0.a", "1.0", -1},
		{"go", "go", "1.10.0", "v1.9.0", 1},
		{"maven", "maven", "1.0-SNAPSHOT", "1.0", -1},
		{"cargo", "semver", "0.10.0", "0.9.0", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := version.For(tt.name)
			if !ok {
				t.Fatalf("no scheme for %q", tt.name)
			}
			if s.Name != tt.comparator {
				t.Errorf("scheme name %q, want %q", s.Name, tt.comparator)
			}
			got, err := s.Compare(tt.a, tt.b)
			if err != nil || got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
			}
		})
	}
	if _, ok := version.For("nuget"); ok {
		t.Error("nuget has a scheme, want none")
	}
}
