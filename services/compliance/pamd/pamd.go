// Package pamd reads Linux-PAM service files (/etc/pam.d/<service>) as
// libpam does: one "type control module [args]" rule per line, "#"
// comments, "\" continuing a line, a control either a keyword (required,
// requisite, sufficient, optional, include, substack) or a bracketed
// "[value=action ...]" list, a leading "-" on the type meaning a missing
// module is not logged, and Debian's "@include file" lines.
package pamd

import (
	"path"
	"strings"
)

// Rule is one line of a service's stack.
type Rule struct {
	// Type is auth, account, password or session, without a leading "-".
	Type string
	// Control is the control keyword or bracketed list as written.
	Control string
	// Module is the module path as written, such as "pam_unix.so".
	Module string
	// Args are the module arguments.
	Args []string
	// File is the service file the rule is written in.
	File string
	// Line is the 1-based line number in File.
	Line int
}

// ModuleName returns the module's file name without directory, such as
// "pam_unix.so" for "/lib/security/pam_unix.so".
func (r Rule) ModuleName() string { return path.Base(r.Module) }

// Dir is where service files live.
const Dir = "/etc/pam.d"

// maxDepth bounds include chains, which libpam also refuses to follow
// forever.
const maxDepth = 16

// Stack returns the rules of service as libpam assembles them: include,
// substack and @include lines are replaced by the named file's rules of
// the same type (all types for @include). files maps absolute paths to
// contents; a missing file contributes nothing.
func Stack(files map[string]string, service string) []Rule {
	return stack(files, path.Join(Dir, service), "", 0)
}

func stack(files map[string]string, file, only string, depth int) []Rule {
	text, ok := files[file]
	if !ok || depth > maxDepth {
		return nil
	}
	var out []Rule
	for _, r := range Parse(file, text) {
		if only != "" && r.Type != only && r.Type != "@include" {
			continue
		}
		switch {
		case r.Type == "@include":
			out = append(out, stack(files, resolve(r.Module), only, depth+1)...)
		case r.Control == "include" || r.Control == "substack":
			out = append(out, stack(files, resolve(r.Module), r.Type, depth+1)...)
		default:
			out = append(out, r)
		}
	}
	return out
}

func resolve(p string) string {
	if path.IsAbs(p) {
		return p
	}
	return path.Join(Dir, p)
}

// Parse returns the rules written in one service file, includes not
// followed. An "@include x" line is a Rule of Type "@include" and Module x.
func Parse(file, text string) []Rule {
	var out []Rule
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimRight(lines[i], "\r")
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimRight(lines[i], "\r")
		}
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "@include" && len(f) > 1 {
			out = append(out, Rule{Type: "@include", Module: f[1], File: file, Line: n})
			continue
		}
		if r, ok := rule(f); ok {
			r.File, r.Line = file, n
			out = append(out, r)
		}
	}
	return out
}

// rule reads the fields of one line; a bracketed control may span fields.
func rule(f []string) (Rule, bool) {
	if len(f) < 3 {
		return Rule{}, false
	}
	r := Rule{Type: strings.ToLower(strings.TrimPrefix(f[0], "-"))}
	rest := f[1:]
	if strings.HasPrefix(rest[0], "[") {
		end := 0
		for end < len(rest) && !strings.HasSuffix(rest[end], "]") {
			end++
		}
		if end == len(rest) {
			return Rule{}, false
		}
		r.Control = strings.Join(rest[:end+1], " ")
		rest = rest[end+1:]
	} else {
		r.Control = strings.ToLower(rest[0])
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return Rule{}, false
	}
	r.Module, r.Args = rest[0], rest[1:]
	return r, true
}
