// Package dpkg reads dpkg's status database (/var/lib/dpkg/status): the
// packages a Debian-family image has installed, with the source package each
// was built from.
package dpkg

import (
	"fmt"
	"strings"
)

// Package is one installed binary package.
type Package struct {
	// Name is the binary package name.
	Name string
	// Version is the binary version, epoch kept ("1:2.38.1-5").
	Version string
	// Arch is the Architecture field ("amd64", "all").
	Arch string
	// SourceName and SourceVersion name the source package, from the
	// Source field; when it is absent they are the binary's own name and
	// version, and when it gives no version it is the binary's version.
	SourceName    string
	SourceVersion string
}

// Parse returns the installed packages of a status file, in file order.
// Only stanzas whose Status has "installed" as its third word count;
// stanzas without a Package field are skipped. A line that is neither a
// field nor a continuation is an error.
func Parse(content string) ([]Package, error) {
	return parse(content, false)
}

// ParseStatusD returns the packages of one file of distroless images'
// /var/lib/dpkg/status.d/ directory: stanzas as in the status file, which
// count as installed when they carry no Status field.
func ParseStatusD(content string) ([]Package, error) {
	return parse(content, true)
}

// parse reads stanzas; noStatus says whether one without Status counts.
func parse(content string, noStatus bool) ([]Package, error) {
	var pkgs []Package
	var s stanza
	n := 0
	for line := range strings.Lines(content) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			pkgs = s.appendTo(pkgs, noStatus)
			s = stanza{}
			continue
		}
		if err := s.add(line); err != nil {
			return nil, fmt.Errorf("parse dpkg status line %d: %w", n, err)
		}
	}
	return s.appendTo(pkgs, noStatus), nil
}

// stanza holds the fields of one paragraph that Parse needs.
type stanza struct {
	pkg, status, version, arch, source string
	// last is the field the previous line set, for continuation lines.
	last string
}

// add reads one non-blank line into s.
func (s *stanza) add(line string) error {
	if line[0] == ' ' || line[0] == '\t' {
		if s.last == "" {
			return fmt.Errorf("continuation line outside a field")
		}
		return nil
	}
	key, value, ok := strings.Cut(line, ":")
	if !ok || key == "" {
		return fmt.Errorf("no field name in %q", truncate(line))
	}
	value = strings.TrimSpace(value)
	s.last = key
	switch strings.ToLower(key) {
	case "package":
		s.pkg = value
	case "status":
		s.status = value
	case "version":
		s.version = value
	case "architecture":
		s.arch = value
	case "source":
		s.source = value
	}
	return nil
}

// appendTo appends s to pkgs when it describes an installed package, or
// has no Status at all and noStatus is set.
func (s *stanza) appendTo(pkgs []Package, noStatus bool) []Package {
	if s.pkg == "" || !(installed(s.status) || noStatus && s.status == "") {
		return pkgs
	}
	p := Package{
		Name:          s.pkg,
		Version:       s.version,
		Arch:          s.arch,
		SourceName:    s.pkg,
		SourceVersion: s.version,
	}
	if s.source != "" {
		p.SourceName, p.SourceVersion = parseSource(s.source, s.version)
	}
	return append(pkgs, p)
}

// installed reports whether a Status value ("install ok installed") says the
// package is installed.
func installed(status string) bool {
	f := strings.Fields(status)
	return len(f) == 3 && f[2] == "installed"
}

// parseSource splits a Source value, "name" or "name (version)".
func parseSource(source, version string) (string, string) {
	name, rest, ok := strings.Cut(source, " ")
	if !ok {
		return name, version
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		if v := strings.TrimSpace(rest[1 : len(rest)-1]); v != "" {
			return name, v
		}
	}
	return name, version
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
