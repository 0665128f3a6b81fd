// Package sshdconfig reads OpenSSH server configuration (sshd_config) the
// way sshd does: keywords are case-insensitive, the first value given for a
// keyword wins, a keyword may be separated from its arguments by spaces or
// by one "=", "#" starts a comment, and lines after a Match line apply only
// to the connections the Match selects, so they never change global values.
package sshdconfig

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Defaults holds OpenSSH's built-in values for the keywords crawlspace's
// rules read, keyed by lowercase keyword. They apply when a configuration
// leaves a keyword out.
var Defaults = map[string]string{
	"permitrootlogin":        "prohibit-password",
	"passwordauthentication": "yes",
	"permitemptypasswords":   "no",
	"pubkeyauthentication":   "yes",
	"x11forwarding":          "no",
}

// Entry is one global keyword as a configuration sets it.
type Entry struct {
	// Keyword is the keyword as written, such as "PermitRootLogin".
	Keyword string
	// Args are its arguments, unquoted.
	Args []string
	// Line is the 1-based line number; 0 means the value is OpenSSH's
	// default and no line sets it.
	Line int
}

// Value returns the arguments joined by single spaces.
func (e Entry) Value() string { return strings.Join(e.Args, " ") }

// Config is a parsed sshd_config. The zero value is an empty
// configuration, in which every keyword has its default.
type Config struct {
	global map[string]Entry
	// Includes lists the arguments of Include lines, which are not read.
	//
	// TODO(crawlspace): follow Include globs (Debian 12 includes
	// /etc/ssh/sshd_config.d/*.conf) once the crawler captures those files.
	Includes []string
	// MatchBlocks counts the Match blocks, whose contents are not global.
	MatchBlocks int
}

// Lookup returns the first global setting of keyword, in any case.
func (c *Config) Lookup(keyword string) (Entry, bool) {
	e, ok := c.global[strings.ToLower(keyword)]
	return e, ok
}

// Effective returns the global setting of keyword, or its entry in
// [Defaults] with Line 0 when the configuration leaves it out. It reports
// false when neither knows the keyword.
func (c *Config) Effective(keyword string) (Entry, bool) {
	if e, ok := c.Lookup(keyword); ok {
		return e, true
	}
	if v, ok := Defaults[strings.ToLower(keyword)]; ok {
		return Entry{Keyword: keyword, Args: []string{v}}, true
	}
	return Entry{}, false
}

// Parse reads a configuration from r. Malformed lines, such as an
// unterminated quote, are errors; unknown keywords are kept.
func Parse(r io.Reader) (*Config, error) {
	c := &Config{global: map[string]Entry{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		kw, args, err := splitLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("parse line %d: %w", n, err)
		}
		c.add(kw, args, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read sshd_config: %w", err)
	}
	return c, nil
}

// add records one line's keyword unless it is inside a Match block or was
// already set.
func (c *Config) add(kw string, args []string, line int) {
	if kw == "" {
		return
	}
	lower := strings.ToLower(kw)
	switch {
	case lower == "match":
		c.MatchBlocks++
	case c.MatchBlocks > 0:
		// Inside a Match block until the end of the file.
	case lower == "include":
		c.Includes = append(c.Includes, args...)
	default:
		if _, ok := c.global[lower]; !ok {
			c.global[lower] = Entry{Keyword: kw, Args: args, Line: line}
		}
	}
}

// splitLine returns a line's keyword and arguments; both are empty for a
// blank or comment line.
func splitLine(line string) (string, []string, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil, nil
	}
	end := strings.IndexAny(line, " \t=")
	if end < 0 {
		return line, nil, nil
	}
	kw, rest := line[:end], strings.TrimLeft(line[end:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	args, err := splitArgs(rest)
	return kw, args, err
}

// splitArgs splits on spaces and tabs, honouring double quotes, and stops
// at a "#" that begins an argument.
func splitArgs(s string) ([]string, error) {
	var args []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" || s[0] == '#' {
			return args, nil
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", s)
			}
			args = append(args, s[1:end+1])
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		args = append(args, s[:end])
		s = s[end:]
	}
}
