// Package distro names distributions' releases and package ecosystems the
// one way that both sides of a match use: the crawler, from an image's
// os-release, and every notice parser, from its feed's own words. Debian 12
// is "bookworm", Ubuntu 22.04 is "jammy", Alpine 3.19.1 is "v3.19" and
// Rocky 9.3 is "el9".
package distro

import "strings"

// Package ecosystems, as stored in image_packages.ecosystem and
// affected.ecosystem.
const (
	Dpkg  = "dpkg"
	RPM   = "rpm"
	APK   = "apk"
	PyPI  = "pypi"
	NPM   = "npm"
	Gem   = "gem"
	Go    = "go"
	Maven = "maven"
	Cargo = "cargo"
)

var debianCodenames = map[string]string{
	"7": "wheezy", "8": "jessie", "9": "stretch", "10": "buster", "11": "bullseye",
	"12": "bookworm", "13": "trixie", "14": "forky",
}

var ubuntuCodenames = map[string]string{
	"12.04": "precise", "14.04": "trusty", "16.04": "xenial", "18.04": "bionic",
	"20.04": "focal", "22.04": "jammy", "23.04": "lunar", "23.10": "mantic",
	"24.04": "noble", "24.10": "oracular", "25.04": "plucky", "25.10": "questing",
}

// rhelFamily lists os-release IDs whose releases are named "elN".
var rhelFamily = map[string]bool{
	"rhel": true, "centos": true, "rocky": true, "almalinux": true, "ol": true,
}

// Release returns the release key for an image whose os-release says id,
// versionID and codename, or "" when the distribution has none we know.
func Release(id, versionID, codename string) string {
	switch id = strings.ToLower(id); {
	case id == "debian":
		if codename != "" {
			return codename
		}
		major, _, _ := strings.Cut(versionID, ".")
		return debianCodenames[major]
	case id == "ubuntu":
		if codename != "" {
			return codename
		}
		return ubuntuCodenames[versionID]
	case id == "alpine":
		parts := strings.SplitN(versionID, ".", 3)
		if len(parts) < 2 {
			return ""
		}
		return "v" + parts[0] + "." + parts[1]
	case rhelFamily[id]:
		major, _, _ := strings.Cut(versionID, ".")
		if major == "" {
			return ""
		}
		return "el" + major
	}
	return ""
}

// UbuntuCodename returns the codename of an Ubuntu version such as
// "22.04", or "" when it is unknown. Feeds that name Ubuntu releases by
// number (OSV's "Ubuntu:22.04:LTS") use it.
func UbuntuCodename(version string) string { return ubuntuCodenames[version] }

// DebianCodename returns the codename of a Debian major version such as
// "12", or "" when it is unknown.
func DebianCodename(major string) string { return debianCodenames[major] }

// Ecosystem returns the package ecosystem of a distribution's own
// packages, or "" when it is unknown.
func Ecosystem(id string) string {
	switch id = strings.ToLower(id); {
	case id == "debian" || id == "ubuntu":
		return Dpkg
	case id == "alpine":
		return APK
	case rhelFamily[id]:
		return RPM
	}
	return ""
}

// PackageName returns name as matching keys it in ecosystem: PyPI names
// are normalized as PEP 503 says (lowercase, each run of "-", "_" and "."
// one "-"), which is how OSV's records spell them; every other ecosystem's
// names are kept as written.
func PackageName(ecosystem, name string) string {
	if ecosystem != PyPI {
		return name
	}
	var b strings.Builder
	sep := false
	for _, c := range strings.ToLower(name) {
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(c)
	}
	return b.String()
}
