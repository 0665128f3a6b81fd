// Package apk reads apk's installed database (/lib/apk/db/installed): the
// packages an Alpine-family image has installed, with the origin (source
// package) each was built from.
package apk

import (
	"fmt"
	"strings"
)

// Package is one installed package.
type Package struct {
	// Name is the P: field.
	Name string
	// Version is the V: field, as written ("1.36.1-r2").
	Version string
	// Arch is the A: field ("x86_64").
	Arch string
	// Origin is the o: field, the source package; the name when absent.
	Origin string
}

// Parse returns the packages of an installed database, in file order.
// Stanzas are separated by blank lines and hold one-letter fields; stanzas
// without a P: or V: field are skipped. A line without a colon in the second
// column is an error.
func Parse(content string) ([]Package, error) {
	var pkgs []Package
	var p Package
	n := 0
	for line := range strings.Lines(content) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			pkgs = appendPackage(pkgs, p)
			p = Package{}
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			return nil, fmt.Errorf("parse apk db line %d: no field in %q", n, truncate(line))
		}
		value := line[2:]
		switch line[0] {
		case 'P':
			p.Name = value
		case 'V':
			p.Version = value
		case 'A':
			p.Arch = value
		case 'o':
			p.Origin = value
		}
	}
	return appendPackage(pkgs, p), nil
}

// appendPackage appends p to pkgs when it names a package and version.
func appendPackage(pkgs []Package, p Package) []Package {
	if p.Name == "" || p.Version == "" {
		return pkgs
	}
	if p.Origin == "" {
		p.Origin = p.Name
	}
	return append(pkgs, p)
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
