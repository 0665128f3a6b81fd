// Package gem reads installed RubyGems specifications
// (…/specifications/NAME-VERSION.gemspec), the Ruby files RubyGems writes
// for every installed gem.
package gem

import (
	"path"
	"regexp"
	"strings"
)

var (
	nameRE    = regexp.MustCompile(`(?m)^\s*\w+\.name\s*=\s*["']([^"']+)["']`)
	versionRE = regexp.MustCompile(`(?m)^\s*\w+\.version\s*=\s*["']([^"']+)["']`)
)

// Parse returns the name and version a gemspec assigns; when it assigns
// neither, they come from file, the gemspec's base name
// ("rake-13.0.6.gemspec"). ok is false when neither source names both.
func Parse(content, file string) (name, version string, ok bool) {
	if m := nameRE.FindStringSubmatch(content); m != nil {
		name = m[1]
	}
	if m := versionRE.FindStringSubmatch(content); m != nil {
		version = m[1]
	}
	if name != "" && version != "" {
		return name, version, true
	}
	return fromFileName(file)
}

// fromFileName splits "NAME-VERSION[-PLATFORM].gemspec" at the first dash
// that a digit follows.
func fromFileName(file string) (name, version string, ok bool) {
	base, found := strings.CutSuffix(path.Base(file), ".gemspec")
	if !found {
		return "", "", false
	}
	for i := 1; i < len(base)-1; i++ {
		if base[i] == '-' && base[i+1] >= '0' && base[i+1] <= '9' {
			version, _, _ = strings.Cut(base[i+1:], "-")
			return base[:i], version, true
		}
	}
	return "", "", false
}

// IsSpecification reports whether p is a gemspec in a specifications
// directory.
func IsSpecification(p string) bool {
	dir, base := path.Split(p)
	return strings.HasSuffix(base, ".gemspec") && path.Base(dir) == "specifications"
}
