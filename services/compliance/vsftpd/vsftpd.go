// Package vsftpd reads vsftpd.conf as vsftpd's parseconf does: one
// "option=value" per line with no space around "=", option names
// case-sensitive, lines starting with "#" ignored, and a later setting of
// an option replacing an earlier one. Boolean values YES, TRUE and 1 (in
// any case) are true. Options left out take vsftpd 3.0's defaults.
package vsftpd

import (
	"strings"
)

// Defaults holds vsftpd 3.0's built-in values (vsftpd.conf(5)) for the
// options crawlspace's rules read.
var Defaults = map[string]string{
	"anonymous_enable":        "NO",
	"anon_upload_enable":      "NO",
	"anon_mkdir_write_enable": "NO",
	"anon_other_write_enable": "NO",
	"write_enable":            "NO",
	"local_enable":            "NO",
	"ssl_enable":              "NO",
	"force_local_logins_ssl":  "YES",
	"force_local_data_ssl":    "YES",
	"chroot_local_user":       "NO",
	"listen":                  "NO",
	"no_anon_password":        "NO",
}

// Setting is one option's value.
type Setting struct {
	// Value is the value as written, or the default.
	Value string
	// Line is the 1-based line number; 0 for a default.
	Line int
}

// Bool reports whether the value is one vsftpd reads as true.
func (s Setting) Bool() bool {
	switch strings.ToUpper(s.Value) {
	case "YES", "TRUE", "1":
		return true
	}
	return false
}

// Config is a parsed vsftpd.conf.
type Config struct {
	// Settings maps option names to their effective values, defaults
	// included.
	Settings map[string]Setting
	// Invalid lists the lines vsftpd would refuse to start on: no "=",
	// or an option name with spaces.
	Invalid []int
}

// Parse reads text. It never fails; lines vsftpd rejects are listed in
// Invalid.
func Parse(text string) *Config {
	c := &Config{Settings: map[string]Setting{}}
	for k, v := range Defaults {
		c.Settings[k] = Setting{Value: v}
	}
	n := 0
	for line := range strings.Lines(text) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			c.Invalid = append(c.Invalid, n)
			continue
		}
		c.Settings[name] = Setting{Value: value, Line: n}
	}
	return c
}
