// Package version chooses the version order of a package ecosystem. Each
// scheme lives in its own package (dpkg, rpm, apk, pep440, npm, gem, gomod,
// maven); this package maps the ecosystem names the schema uses, and the
// scheme names themselves, to them.
package version

import (
	"crawlspace.dev/services/matcher/version/apk"
	"crawlspace.dev/services/matcher/version/dpkg"
	"crawlspace.dev/services/matcher/version/gem"
	"crawlspace.dev/services/matcher/version/gomod"
	"crawlspace.dev/services/matcher/version/maven"
	"crawlspace.dev/services/matcher/version/npm"
	"crawlspace.dev/services/matcher/version/pep440"
	"crawlspace.dev/services/matcher/version/rpm"
	"crawlspace.dev/services/platform/distro"
)

// Scheme is one version order.
type Scheme struct {
	// Name is the scheme's name, which findings record as their comparator.
	Name string
	// Compare returns -1, 0 or +1 as a sorts before, with or after b, or an
	// error for a string that is not a version of the scheme.
	Compare func(a, b string) (int, error)
}

// schemes maps ecosystems (distro's constants) and scheme names to schemes.
// Cargo versions are semantic versions, ordered as npm's.
var schemes = map[string]Scheme{
	distro.Dpkg:  {dpkg.Comparator, dpkg.Compare},
	distro.RPM:   {rpm.Comparator, rpm.Compare},
	distro.APK:   {apk.Comparator, apk.Compare},
	distro.PyPI:  {pep440.Comparator, pep440.Compare},
	"pep440":     {pep440.Comparator, pep440.Compare},
	distro.NPM:   {npm.Comparator, npm.Compare},
	distro.Gem:   {gem.Comparator, gem.Compare},
	distro.Go:    {gomod.Comparator, gomod.Compare},
	distro.Maven: {maven.Comparator, maven.Compare},
	distro.Cargo: {"semver", npm.Compare},
}

// For returns the scheme of an ecosystem ("dpkg", "pypi", "go", ...) or of
// a scheme name ("pep440"), and false when there is none.
func For(name string) (Scheme, bool) {
	s, ok := schemes[name]
	return s, ok
}

// Names returns the names [For] accepts, for usage messages.
func Names() []string {
	return []string{"dpkg", "rpm", "apk", "pep440", "pypi", "npm", "gem", "go", "maven",
		"cargo"}
}
