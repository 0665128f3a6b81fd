// Package sshdconfig reads OpenSSH server configuration (sshd_config) the
// way sshd does: keywords are case-insensitive, the first value given for a
// keyword wins, a keyword may be separated from its arguments by spaces or
// by one "=", "#" starts a comment, and lines after a Match line apply only
// to the connections the Match selects, so they never change global values.
// Include lines read the named files in place, in lexical order of their
// glob's matches, from a set of captured files.
package sshdconfig

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Defaults holds OpenSSH's built-in values for the keywords crawlspace's
// rules read, keyed by lowercase keyword. They apply when a configuration
// leaves a keyword out. Values are those of OpenSSH 9.x (sshd_config(5)).
var Defaults = map[string]string{
	"permitrootlogin":         "prohibit-password",
	"passwordauthentication":  "yes",
	"permitemptypasswords":    "no",
	"pubkeyauthentication":    "yes",
	"x11forwarding":           "no",
	"maxauthtries":            "6",
	"ignorerhosts":            "yes",
	"hostbasedauthentication": "no",
	"permituserenvironment":   "no",
	"logingracetime":          "120",
	"allowtcpforwarding":      "yes",
	"protocol":                "2",
	"usepam":                  "no",
}

// maxDepth is how deep Includes nest before sshd gives up, as in OpenSSH.
const maxDepth = 16

// Dir is the directory relative Include paths are resolved in.
const Dir = "/etc/ssh"

// Entry is one global keyword as a configuration sets it.
type Entry struct {
	// Keyword is the keyword as written, such as "PermitRootLogin".
	Keyword string
	// Args are its arguments, unquoted.
	Args []string
	// File is the file that sets it; "" for [Parse]'s single reader and
	// for defaults.
	File string
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
	all    map[string][]Entry
	// Includes lists the arguments of Include lines, in the order read.
	Includes []string
	// Files lists the files read, the main one first.
	Files []string
	// MatchBlocks counts the Match blocks, whose contents are not global.
	MatchBlocks int
}

// Lookup returns the first global setting of keyword, in any case.
func (c *Config) Lookup(keyword string) (Entry, bool) {
	e, ok := c.global[strings.ToLower(keyword)]
	return e, ok
}

// All returns every global setting of keyword in the order read, for the
// keywords sshd accumulates, such as HostKey.
func (c *Config) All(keyword string) []Entry { return c.all[strings.ToLower(keyword)] }

// Keywords returns the lowercase keywords set globally, sorted.
func (c *Config) Keywords() []string {
	out := make([]string, 0, len(c.global))
	for k := range c.global {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
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

// Parse reads one configuration from r. Include lines are recorded in
// Includes but not followed. Malformed lines, such as an unterminated
// quote, are errors; unknown keywords are kept.
func Parse(r io.Reader) (*Config, error) {
	c := newConfig()
	if err := c.read(r, "", false, 0, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseFiles reads the configuration in files[main], following Include
// lines into the other entries of files, which maps absolute paths to
// contents. A glob matching no captured file reads nothing, as in sshd.
func ParseFiles(files map[string]string, main string) (*Config, error) {
	c := newConfig()
	text, ok := files[main]
	if !ok {
		return c, nil
	}
	c.Files = append(c.Files, main)
	err := c.read(strings.NewReader(text), main, false, 0, files)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func newConfig() *Config {
	return &Config{global: map[string]Entry{}, all: map[string][]Entry{}}
}

// read adds the lines of one file. inMatch says the file is read inside a
// Match block, so that nothing in it is global.
func (c *Config) read(r io.Reader, file string, inMatch bool, depth int,
	files map[string]string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		kw, args, err := splitLine(sc.Text())
		if err != nil {
			return fmt.Errorf("parse %s line %d: %w", name(file), n, err)
		}
		switch strings.ToLower(kw) {
		case "":
		case "match":
			c.MatchBlocks++
			inMatch = true
		case "include":
			c.Includes = append(c.Includes, args...)
			if files == nil {
				continue
			}
			if err := c.include(args, inMatch, depth, files); err != nil {
				return fmt.Errorf("%s line %d: %w", name(file), n, err)
			}
		default:
			if !inMatch {
				c.add(kw, args, file, n)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name(file), err)
	}
	return nil
}

// include reads the files each glob in args matches, each in lexical order.
// A Match inside an included file ends with that file, as in sshd.
func (c *Config) include(args []string, inMatch bool, depth int,
	files map[string]string) error {
	if depth+1 >= maxDepth {
		return fmt.Errorf("include nested deeper than %d", maxDepth)
	}
	for _, glob := range args {
		if !path.IsAbs(glob) {
			glob = path.Join(Dir, glob)
		}
		for _, p := range matches(glob, files) {
			c.Files = append(c.Files, p)
			err := c.read(strings.NewReader(files[p]), p, inMatch, depth+1, files)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// matches returns the paths of files that glob matches, sorted.
func matches(glob string, files map[string]string) []string {
	var out []string
	for p := range files {
		if ok, err := path.Match(glob, p); err == nil && ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func name(file string) string {
	if file == "" {
		return "sshd_config"
	}
	return file
}

// add records one global keyword; the first setting wins.
func (c *Config) add(kw string, args []string, file string, line int) {
	lower := strings.ToLower(kw)
	e := Entry{Keyword: kw, Args: args, File: file, Line: line}
	c.all[lower] = append(c.all[lower], e)
	if _, ok := c.global[lower]; !ok {
		c.global[lower] = e
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
