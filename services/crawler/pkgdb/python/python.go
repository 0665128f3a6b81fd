// Package python reads installed Python distributions' metadata: the
// METADATA file of a *.dist-info directory and the PKG-INFO of an
// *.egg-info directory (or an *.egg-info file, which is PKG-INFO itself).
package python

import (
	"strings"
)

// Parse returns the Name and Version headers of a core metadata file. It
// reads only the header block, up to the first blank line. ok is false
// when either header is missing.
func Parse(content string) (name, version string, ok bool) {
	for line := range strings.Lines(content) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		key, value, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(key) {
		case "name":
			if name == "" {
				name = value
			}
		case "version":
			if version == "" {
				version = value
			}
		}
	}
	return name, version, name != "" && version != ""
}

// IsMetadataPath reports whether p is a file whose content [Parse] reads:
// "…/x.dist-info/METADATA", "…/x.egg-info/PKG-INFO" or "…/x.egg-info".
func IsMetadataPath(p string) bool {
	dir, base := splitPath(p)
	switch {
	case base == "METADATA":
		return strings.HasSuffix(dir, ".dist-info")
	case base == "PKG-INFO":
		return strings.HasSuffix(dir, ".egg-info")
	default:
		return strings.HasSuffix(base, ".egg-info")
	}
}

// splitPath returns the last directory name and the base name of p.
func splitPath(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	base = p[i+1:]
	if i < 0 {
		return "", base
	}
	rest := p[:i]
	return rest[strings.LastIndexByte(rest, '/')+1:], base
}
