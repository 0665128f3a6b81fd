package osv

import (
	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/platform/distro"
)

// Sources of the language-ecosystem OSV feeds.
const (
	SourceGo   = "osv-go"
	SourcePyPI = "osv-pypi"
	SourceGHSA = "osv-ghsa"
)

// ecosystems maps OSV ecosystem names to crawlspace's. NuGet, Packagist,
// SwiftURL and the others have no crawler support and are skipped.
var ecosystems = map[string]string{
	"Go": distro.Go, "PyPI": distro.PyPI, "npm": distro.NPM, "RubyGems": distro.Gem,
	"Maven": distro.Maven, "crates.io": distro.Cargo,
}

// Language maps a language ecosystem's package to its row: release "",
// and the name as OSV spells it, PyPI names normalized as PEP 503 says.
// TODO(crawlspace): match NuGet, Packagist and SwiftURL packages once the
// crawler reads their manifests; today they are skipped.
func Language(ecosystem, name string) (Target, bool) {
	eco, ok := ecosystems[ecosystem]
	if !ok || name == "" {
		return Target{}, false
	}
	return Target{Ecosystem: eco, Package: distro.PackageName(eco, name)}, true
}

// Parse reads one OSV record, JSON or YAML, as a notice of source with
// packages mapped by m. A record that cannot be read or converted is
// returned in [advisory.Feed.Malformed].
func Parse(data []byte, name, source string, m Mapper) advisory.Feed {
	var f advisory.Feed
	r, err := Decode(data)
	if err != nil {
		f.Skip(name, "record", "", err)
		return f
	}
	n, skipped, err := Notice(r, source, m)
	f.Skipped += skipped
	if err != nil {
		f.Skip(name, "record", r.ID, err)
		return f
	}
	f.Add(name, "record", n)
	return f
}

// ParseLanguage reads one record of a language-ecosystem feed.
func ParseLanguage(data []byte, name, source string) advisory.Feed {
	return Parse(data, name, source, Language)
}
