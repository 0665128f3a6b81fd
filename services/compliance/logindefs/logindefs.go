// Package logindefs reads shadow-utils' /etc/login.defs as its getdef code
// does: one "NAME value" per line, names case-sensitive, "#" lines ignored,
// a value optionally in double quotes, and a later definition of a name
// replacing an earlier one.
package logindefs

import (
	"strings"
)

// Setting is one definition.
type Setting struct {
	// Value is the value, unquoted; empty when the line names no value.
	Value string
	// Line is the 1-based line number.
	Line int
}

// Parse returns the definitions of text by name. It never fails: like
// shadow-utils, it skips what it cannot read.
func Parse(text string) map[string]Setting {
	out := map[string]Setting{}
	n := 0
	for line := range strings.Lines(text) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, value := line, ""
		if i := strings.IndexAny(line, " \t="); i >= 0 {
			name, value = line[:i], strings.TrimLeft(line[i+1:], " \t=")
		}
		if name == "" {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' {
			if end := strings.IndexByte(value[1:], '"'); end >= 0 {
				value = value[1 : end+1]
			}
		}
		out[name] = Setting{Value: value, Line: n}
	}
	return out
}
