package gem_test

import (
	"testing"

	"crawlspace.dev/services/crawler/pkgdb/gem"
)

func TestParse(t *testing.T) {
	const spec = "# -*- encoding: utf-8 -*-\nGem::Specification.new do |s|\n" +
		"  s.name = \"net-imap\".freeze\n  s.version = \"0.3.4.1\".freeze\n" +
		"  s.required_rubygems_version = Gem::Requirement.new(\">= 0\".freeze)\nend\n"
	tests := []struct {
		name, content, file, pkg, version string
		ok                                bool
	}{
		{"content", spec, "/x/specifications/net-imap-0.3.4.1.gemspec", "net-imap",
			"0.3.4.1", true},
		{"file name", "", "/x/specifications/rake-13.0.6.gemspec", "rake", "13.0.6", true},
		{"platform", "", "nokogiri-1.15.4-x86_64-linux.gemspec", "nokogiri", "1.15.4", true},
		{"no version", "", "rake.gemspec", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, v, ok := gem.Parse(tt.content, tt.file)
			if n != tt.pkg || v != tt.version || ok != tt.ok {
				t.Errorf("Parse = %q, %q, %v; want %q, %q, %v", n, v, ok, tt.pkg, tt.version,
					tt.ok)
			}
		})
	}
}

func TestIsSpecification(t *testing.T) {
	for p, want := range map[string]bool{
		"/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec":        true,
		"/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec": false,
		"/src/rake.gemspec": false,
	} {
		t.Run(p, func(t *testing.T) {
			if got := gem.IsSpecification(p); got != want {
				t.Errorf("IsSpecification(%q) = %v", p, got)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("s.name = \"x\"\ns.version = \"1\"\n", "x-1.gemspec")
	f.Fuzz(func(t *testing.T, content, file string) {
		if n, v, ok := gem.Parse(content, file); ok && (n == "" || v == "") {
			t.Fatalf("ok without name or version: %q %q", n, v)
		}
	})
}
