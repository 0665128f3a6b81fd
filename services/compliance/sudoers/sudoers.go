// Package sudoers reads sudo's policy (/etc/sudoers and the files it
// includes) as sudoers(5) describes: "#" comments except "#include",
// "#includedir" and "#uid" user names, "\" continuing a line, Defaults
// lines, aliases, and user specifications "users hosts = (runas) TAG:
// command, ...", in which a tag carries over to the commands after it.
// "#includedir" and "@includedir" read a directory's files in lexical
// order, skipping names that end in "~" or contain a ".", as sudo does.
package sudoers

import (
	"path"
	"slices"
	"strings"
)

// Command is one command of a user specification.
type Command struct {
	// Runas is the run-as list in parentheses, without them; "" when none
	// is given, which means root.
	Runas string
	// Tags are the tags in effect, such as "NOPASSWD".
	Tags []string
	// Command is the command, alias or ALL.
	Command string
}

// NoPasswd reports whether the command runs without asking for a password:
// the last of NOPASSWD and PASSWD in effect decides.
func (c Command) NoPasswd() bool {
	for _, t := range slices.Backward(c.Tags) {
		if t == "NOPASSWD" || t == "PASSWD" {
			return t == "NOPASSWD"
		}
	}
	return false
}

// Spec is one user specification.
type Spec struct {
	// Users are the users, %groups and aliases the specification names.
	Users []string
	// Hosts are the hosts it applies on.
	Hosts []string
	// Commands are the commands it allows.
	Commands []Command
	// File and Line locate it.
	File string
	Line int
}

// Default is one setting of a Defaults line.
type Default struct {
	// Scope is what follows "Defaults" without a blank, such as ":alice".
	Scope string
	// Name is the setting's name; Negated is true for "!name".
	Name    string
	Negated bool
	// Value is the value after "=", "+=" or "-=".
	Value string
	// File and Line locate it.
	File string
	Line int
}

// Policy is everything read.
type Policy struct {
	Specs    []Spec
	Defaults []Default
	// Aliases maps alias names to their members.
	Aliases map[string][]string
	// Files lists the files read, the main one first.
	Files []string
}

const maxDepth = 8

// Parse reads files[main] and the files it includes; files maps absolute
// paths to contents. A missing file contributes nothing.
func Parse(files map[string]string, main string) *Policy {
	p := &Policy{Aliases: map[string][]string{}}
	p.read(files, main, 0)
	return p
}

func (p *Policy) read(files map[string]string, file string, depth int) {
	text, ok := files[file]
	if !ok || depth > maxDepth || slices.Contains(p.Files, file) {
		return
	}
	p.Files = append(p.Files, file)
	for _, l := range logicalLines(text) {
		p.line(files, file, l.n, l.text, depth)
	}
}

// logical is a line with its continuations joined, numbered by its first
// physical line.
type logical struct {
	n    int
	text string
}

// logicalLines joins continued lines.
func logicalLines(text string) []logical {
	var out []logical
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		n, line := i+1, strings.TrimRight(lines[i], "\r")
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimRight(lines[i], "\r")
		}
		out = append(out, logical{n, line})
	}
	return out
}

func (p *Policy) line(files map[string]string, file string, n int, line string, depth int) {
	line = strings.TrimSpace(line)
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	switch f[0] {
	case "#include", "@include":
		if len(f) > 1 {
			p.read(files, resolve(file, f[1]), depth+1)
		}
		return
	case "#includedir", "@includedir":
		if len(f) > 1 {
			for _, inc := range dirFiles(files, resolve(file, f[1])) {
				p.read(files, inc, depth+1)
			}
		}
		return
	}
	line = stripComment(line)
	if line == "" {
		return
	}
	kw, rest, _ := strings.Cut(line, " ")
	switch {
	case strings.HasPrefix(kw, "Defaults"):
		p.defaults(strings.TrimPrefix(kw, "Defaults"), rest, file, n)
	case strings.HasSuffix(kw, "_Alias"):
		p.alias(rest)
	default:
		if s, ok := spec(line); ok {
			s.File, s.Line = file, n
			p.Specs = append(p.Specs, s)
		}
	}
}

// stripComment drops a "#" comment; "#" followed by a digit is a uid.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] != '#' || (i+1 < len(line) && line[i+1] >= '0' && line[i+1] <= '9') {
			continue
		}
		if i == 0 || line[i-1] == ' ' || line[i-1] == '\t' || line[i-1] == ',' {
			return strings.TrimSpace(line[:i])
		}
	}
	return line
}

func resolve(from, p string) string {
	if path.IsAbs(p) {
		return p
	}
	return path.Join(path.Dir(from), p)
}

// dirFiles returns the files of dir that sudo reads, sorted.
func dirFiles(files map[string]string, dir string) []string {
	var out []string
	for p := range files {
		if path.Dir(p) != dir {
			continue
		}
		b := path.Base(p)
		if strings.HasSuffix(b, "~") || strings.Contains(b, ".") {
			continue
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (p *Policy) defaults(scope, rest, file string, n int) {
	for _, item := range splitList(rest) {
		d := Default{Scope: scope, File: file, Line: n}
		name, value, ok := strings.Cut(item, "=")
		d.Name = strings.TrimSpace(strings.TrimRight(name, "+-"))
		if ok {
			d.Value = strings.Trim(strings.TrimSpace(value), `"`)
		}
		if strings.HasPrefix(d.Name, "!") {
			d.Name, d.Negated = strings.TrimLeft(d.Name, "! "), true
		}
		if d.Name != "" {
			p.Defaults = append(p.Defaults, d)
		}
	}
}

func (p *Policy) alias(rest string) {
	for def := range strings.SplitSeq(rest, ":") {
		name, members, ok := strings.Cut(def, "=")
		if ok {
			p.Aliases[strings.TrimSpace(name)] = splitList(members)
		}
	}
}

// spec reads "users hosts = cmnd, ...".
func spec(line string) (Spec, bool) {
	left, right, ok := strings.Cut(line, "=")
	if !ok {
		return Spec{}, false
	}
	lf := strings.Fields(left)
	if len(lf) < 2 {
		return Spec{}, false
	}
	s := Spec{Users: splitList(strings.Join(lf[:len(lf)-1], " ")),
		Hosts: splitList(lf[len(lf)-1])}
	// TODO(crawlspace): read "host = cmnd : host = cmnd" specifications;
	// everything after the first "=" is taken as one host's commands.
	var runas string
	var tags []string
	for _, c := range splitList(right) {
		if strings.HasPrefix(c, "(") {
			if end := strings.IndexByte(c, ')'); end > 0 {
				runas, c = c[1:end], strings.TrimSpace(c[end+1:])
				tags = nil
			}
		}
		for {
			tag, rest, ok := strings.Cut(c, ":")
			if !ok || !isTag(tag) {
				break
			}
			tags = append(slices.Clone(tags), tag)
			c = strings.TrimSpace(rest)
		}
		s.Commands = append(s.Commands, Command{Runas: runas, Tags: tags, Command: c})
	}
	return s, true
}

func isTag(s string) bool {
	switch s {
	case "NOPASSWD", "PASSWD", "NOEXEC", "EXEC", "SETENV", "NOSETENV", "LOG_INPUT",
		"NOLOG_INPUT", "LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL", "NOMAIL", "FOLLOW",
		"NOFOLLOW", "INTERCEPT", "NOINTERCEPT":
		return true
	}
	return false
}

// splitList splits on commas outside parentheses, trimming blanks.
func splitList(s string) []string {
	out := []string{}
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch s[i] {
			case '(':
				depth++
			case ')':
				depth--
			}
			if s[i] != ',' || depth > 0 {
				continue
			}
		}
		if item := strings.TrimSpace(s[start:i]); item != "" {
			out = append(out, item)
		}
		start = i + 1
	}
	return out
}
