package osrelease

import (
	"regexp"
	"strings"
)

// Release files that [Detect] reads, in the order it tries them.
const (
	PathEtc           = "/etc/os-release"
	PathUsrLib        = "/usr/lib/os-release"
	PathDebianVersion = "/etc/debian_version"
	PathAlpineRelease = "/etc/alpine-release"
	PathRedHatRelease = "/etc/redhat-release"
	PathCentOSRelease = "/etc/centos-release"
)

// Detect identifies the operating system from an image's release files;
// read returns a file's content and whether the image has it. os-release
// (/etc first, then /usr/lib) is read first; the distribution's own
// release file fills what it leaves empty, or stands in for it in images
// that predate it. found is false when no release file says anything.
func Detect(read func(path string) (string, bool)) (os OS, found bool) {
	for _, p := range []string{PathEtc, PathUsrLib} {
		if c, ok := read(p); ok {
			os, found = Parse(c), true
			break
		}
	}
	for _, fb := range []struct {
		path  string
		parse func(string) OS
	}{
		{PathDebianVersion, ParseDebianVersion},
		{PathAlpineRelease, ParseAlpineRelease},
		{PathCentOSRelease, ParseRedHatRelease},
		{PathRedHatRelease, ParseRedHatRelease},
	} {
		c, ok := read(fb.path)
		if !ok {
			continue
		}
		alt := fb.parse(c)
		if alt.ID == "" || (os.ID != "" && os.ID != alt.ID) {
			continue
		}
		os, found = fill(os, alt), true
	}
	return os, found && os != OS{}
}

// fill sets os's empty fields from alt.
func fill(os, alt OS) OS {
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&os.ID, alt.ID}, {&os.VersionID, alt.VersionID}, {&os.Codename, alt.Codename},
		{&os.Name, alt.Name},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	return os
}

// ParseDebianVersion reads /etc/debian_version: "12.5" is Debian 12,
// "bookworm/sid" is a testing or unstable system whose codename is known
// but not its version.
func ParseDebianVersion(content string) OS {
	v := strings.TrimSpace(firstLine(content))
	if v == "" {
		return OS{}
	}
	if v[0] >= '0' && v[0] <= '9' {
		major, _, _ := strings.Cut(v, ".")
		return OS{ID: "debian", VersionID: major}
	}
	code, _, _ := strings.Cut(v, "/")
	if strings.Trim(code, "abcdefghijklmnopqrstuvwxyz") != "" {
		return OS{}
	}
	return OS{ID: "debian", Codename: code}
}

// ParseAlpineRelease reads /etc/alpine-release, "3.18.4".
func ParseAlpineRelease(content string) OS {
	v := strings.TrimSpace(firstLine(content))
	if v == "" || strings.ContainsAny(v, " \t") {
		return OS{}
	}
	return OS{ID: "alpine", VersionID: v}
}

var redHatRE = regexp.MustCompile(`^(.+?) release ([0-9][0-9.]*)`)

// redHatIDs maps the names a redhat-release line starts with to
// os-release IDs.
var redHatIDs = []struct{ prefix, id string }{
	{"Red Hat", "rhel"}, {"CentOS Stream", "centos"}, {"CentOS", "centos"},
	{"Rocky", "rocky"}, {"AlmaLinux", "almalinux"}, {"Oracle", "ol"},
	{"Fedora", "fedora"}, {"Scientific", "scientific"},
}

// ParseRedHatRelease reads /etc/redhat-release or /etc/centos-release,
// "CentOS Linux release 7.6.1810 (Core)". The version is its major number,
// as os-release's VERSION_ID has it for these distributions.
func ParseRedHatRelease(content string) OS {
	line := strings.TrimSpace(firstLine(content))
	m := redHatRE.FindStringSubmatch(line)
	if m == nil {
		return OS{}
	}
	for _, r := range redHatIDs {
		if strings.HasPrefix(m[1], r.prefix) {
			major, _, _ := strings.Cut(m[2], ".")
			return OS{ID: r.id, VersionID: major, Name: line}
		}
	}
	return OS{}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
