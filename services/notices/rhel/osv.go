// Package rhel parses the RHEL family's advisories: AlmaLinux and Rocky
// Linux errata in OSV form, AlmaLinux's errata.json, the CentOS CEFS
// errata XML and Red Hat's CSAF 2.0 documents. Releases are "el8", "el9"
// from the advisory's platform; packages are source rpm names where the
// feed gives them, and versions keep the epoch when the feed writes one.
package rhel

import (
	"strings"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/osv"
	"crawlspace.dev/services/platform/distro"
)

// Sources of the RHEL-family feeds.
const (
	SourceAlma  = "alma"
	SourceRocky = "rocky"
	SourceCEFS  = "centos-cefs"
	SourceCSAF  = "rhel-csaf"
)

// Mapper files an OSV "AlmaLinux:8" or "Rocky Linux:9" package under rpm
// and "el8" or "el9".
// TODO(crawlspace): AlmaLinux OSV names binary rpms (krb5-libs), not the
// source rpm (krb5) the matcher joins on; read errata.json, which names
// source rpms, for AlmaLinux until the OSV records carry them.
func Mapper(ecosystem, name string) (osv.Target, bool) {
	dist, ver, ok := strings.Cut(ecosystem, ":")
	if !ok || name == "" || (dist != "AlmaLinux" && dist != "Rocky Linux") {
		return osv.Target{}, false
	}
	major, _, _ := strings.Cut(ver, ".")
	if major == "" || !digits(major) {
		return osv.Target{}, false
	}
	return osv.Target{Ecosystem: distro.RPM, Release: "el" + major, Package: name}, true
}

// ParseOSV reads one AlmaLinux or Rocky Linux record in OSV form.
func ParseOSV(data []byte, name, source string) advisory.Feed {
	f := osv.Parse(data, name, source, Mapper)
	for i := range f.Notices {
		f.Notices[i].URL = errataURL(source, f.Notices[i].ID)
	}
	return f
}

func errataURL(source, id string) string {
	switch source {
	case SourceAlma:
		return "https://errata.almalinux.org/" + strings.ReplaceAll(id, ":", "-") + ".html"
	case SourceRocky:
		return "https://errata.rockylinux.org/" + id
	}
	return ""
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// SplitSRPM splits a source rpm file name such as
// "libsndfile-1.0.28-10.el8_4.1.src.rpm" into its name and
// version-release.
func SplitSRPM(file string) (name, version string, ok bool) {
	s := strings.TrimSuffix(strings.TrimSuffix(file, ".rpm"), ".src")
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return "", "", false
	}
	j := strings.LastIndexByte(s[:i], '-')
	if j <= 0 {
		return "", "", false
	}
	return s[:j], s[j+1:], true
}

// elRelease returns "el8" for a version-release holding ".el8" or
// "module_el8", or "".
func elRelease(version string) string {
	i := strings.Index(version, "el")
	for i >= 0 {
		rest := version[i+2:]
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n > 0 && i > 0 && (version[i-1] == '.' || version[i-1] == '_' || version[i-1] == '+') {
			return "el" + rest[:n]
		}
		k := strings.Index(rest, "el")
		if k < 0 {
			return ""
		}
		i += 2 + k
	}
	return ""
}
