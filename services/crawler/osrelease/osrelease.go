// Package osrelease parses os-release files (/etc/os-release,
// /usr/lib/os-release): newline-separated KEY=VALUE assignments in a subset
// of shell syntax, with comments, quoting and backslash escapes.
package osrelease

import (
	"strings"
)

// OS is what an os-release file says of the operating system. A field is
// empty when the file does not set it.
type OS struct {
	// ID is ID, such as "debian".
	ID string
	// VersionID is VERSION_ID, such as "12".
	VersionID string
	// Codename is VERSION_CODENAME, such as "bookworm". Files that predate
	// it are read for UBUNTU_CODENAME, then for a lowercase word in
	// parentheses in VERSION ("8 (jessie)").
	Codename string
	// Name is PRETTY_NAME, such as "Debian GNU/Linux 12 (bookworm)".
	Name string
	// Variant is "distroless" for Google's distroless images, "scratch"
	// for an image with no operating system (set by the caller, which
	// knows what else the image holds), and "" otherwise.
	Variant string `json:",omitempty"`
}

// Variants of [OS.Variant].
const (
	VariantDistroless = "distroless"
	VariantScratch    = "scratch"
)

// Parse reads the identity fields of an os-release file. It never fails:
// lines that are not assignments are ignored, as the format asks.
func Parse(content string) OS {
	vars := Vars(content)
	os := OS{
		ID:        vars["ID"],
		VersionID: vars["VERSION_ID"],
		Codename:  codename(vars),
		Name:      vars["PRETTY_NAME"],
	}
	if vars["PRETTY_NAME"] == "Distroless" || strings.Contains(vars["HOME_URL"], "/distroless") {
		os.Variant = VariantDistroless
	}
	return os
}

// Vars returns every assignment in content, values unquoted and unescaped.
// A later assignment of a key replaces an earlier one.
func Vars(content string) map[string]string {
	vars := make(map[string]string)
	for line := range strings.Lines(content) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok || !validKey(key) {
			continue
		}
		vars[key] = unquote(raw)
	}
	return vars
}

// validKey reports whether key is a shell variable name.
func validKey(key string) bool {
	if key == "" {
		return false
	}
	for i, c := range key {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// unquote decodes a value the way a shell would: single quotes keep
// everything literally, double quotes allow the escapes \" \\ \$ \` and a
// backslash outside quotes escapes the next character. An unquoted # after
// whitespace starts a comment; an unterminated quote runs to the line's end.
func unquote(raw string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		escape := c == '\\' && i+1 < len(raw) &&
			(quote == 0 || strings.IndexByte("\"\\$`", raw[i+1]) >= 0)
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case escape:
			i++
			b.WriteByte(raw[i])
		case quote == '"':
			if c == '"' {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && i > 0 && (raw[i-1] == ' ' || raw[i-1] == '\t'):
			return strings.TrimRight(b.String(), " \t")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// codename finds the release codename, falling back for files that predate
// VERSION_CODENAME.
func codename(vars map[string]string) string {
	if c := vars["VERSION_CODENAME"]; c != "" {
		return c
	}
	if c := vars["UBUNTU_CODENAME"]; c != "" {
		return c
	}
	_, rest, ok := strings.Cut(vars["VERSION"], "(")
	if !ok {
		return ""
	}
	word, _, ok := strings.Cut(rest, ")")
	if !ok || word == "" || strings.Trim(word, "abcdefghijklmnopqrstuvwxyz") != "" {
		return ""
	}
	return word
}
