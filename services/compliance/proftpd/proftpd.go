// Package proftpd reads proftpd.conf as ProFTPD does: one directive and its
// arguments per line, directive names case-insensitive, "#" comments, "\"
// at the end of a line continuing it, and sections such as <Global>,
// <VirtualHost>, <Anonymous>, <Directory>, <Limit> and <IfModule> that
// nest until their closing tag.
package proftpd

import (
	"fmt"
	"strings"
)

// Directive is one configuration line.
type Directive struct {
	// Name is the directive as written, such as "TLSEngine".
	Name string
	// Args are its arguments.
	Args []string
	// Line is the 1-based line number.
	Line int
}

// Value returns the arguments joined by single spaces.
func (d Directive) Value() string { return strings.Join(d.Args, " ") }

// Section is the whole file or one <Name args> … </Name> section.
type Section struct {
	// Name is the section's tag, such as "Anonymous"; "" for the file.
	Name string
	// Args are the tag's arguments, such as "~ftp".
	Args []string
	// Line is the line of the opening tag; 0 for the file.
	Line int
	// Directives are the section's own directives, in file order.
	Directives []Directive
	// Sections are the sections nested directly inside.
	Sections []*Section
}

// Lookup returns the first directive called name, in any case, among the
// section's own directives.
func (s *Section) Lookup(name string) (Directive, bool) {
	for _, d := range s.Directives {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return Directive{}, false
}

// Find returns every section called name, in any case, at any depth.
func (s *Section) Find(name string) []*Section {
	var out []*Section
	for _, c := range s.Sections {
		if strings.EqualFold(c.Name, name) {
			out = append(out, c)
		}
		out = append(out, c.Find(name)...)
	}
	return out
}

// Parse reads text into its top section. A closing tag that does not match
// the open section is an error, as it is for proftpd; sections left open
// at the end of the file are closed there.
func Parse(text string) (*Section, error) {
	top := &Section{}
	stack := []*Section{top}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " +
				strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		}
		if line == "" || line[0] == '#' {
			continue
		}
		cur := stack[len(stack)-1]
		switch {
		case strings.HasPrefix(line, "</"):
			name := strings.TrimSuffix(strings.TrimPrefix(line, "</"), ">")
			if len(stack) == 1 || !strings.EqualFold(strings.TrimSpace(name), cur.Name) {
				return nil, fmt.Errorf("parse proftpd.conf line %d: unexpected </%s>", n,
					name)
			}
			stack = stack[:len(stack)-1]
		case strings.HasPrefix(line, "<"):
			f := fields(strings.TrimSuffix(line[1:], ">"))
			if len(f) == 0 || f[0] == "" {
				return nil, fmt.Errorf("parse proftpd.conf line %d: empty section tag", n)
			}
			s := &Section{Name: f[0], Args: f[1:], Line: n}
			cur.Sections = append(cur.Sections, s)
			stack = append(stack, s)
		default:
			f := fields(line)
			if len(f) == 0 || f[0] == "" {
				continue
			}
			cur.Directives = append(cur.Directives, Directive{Name: f[0], Args: f[1:], Line: n})
		}
	}
	return top, nil
}

// fields splits on blanks, keeping double-quoted arguments whole and
// stopping at a "#" that begins an argument.
func fields(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" || s[0] == '#' {
			return out
		}
		if s[0] == '"' {
			if end := strings.IndexByte(s[1:], '"'); end >= 0 {
				out = append(out, s[1:end+1])
				s = s[end+2:]
				continue
			}
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
}
