// Package accounts reads an image's /etc/passwd and its redacted
// /etc/shadow into accounts, each with the state of its password. The
// crawler stores /etc/shadow with every password field reduced to "" (no
// password), "!" (locked), "*" (no login by password) or "<hashed>"; raw
// shadow files are understood too.
package accounts

import (
	"strconv"
	"strings"
)

// State is how an account's password stands.
type State string

// Password states.
const (
	// Empty means anyone can log in as the account without a password.
	Empty State = "empty"
	// Locked means no password logs in: the field is "!…" or "*…", or
	// passwd defers to a shadow entry that does not exist.
	Locked State = "locked"
	// Hashed means a password is set.
	Hashed State = "hashed"
)

// Redacted is the value the crawler stores in place of a password hash.
const Redacted = "<hashed>"

// Account is one line of /etc/passwd with its password state.
type Account struct {
	// Name is the login name.
	Name string
	// UID is the user id; -1 when the field is not a number.
	UID int
	// Shell is the login shell.
	Shell string
	// State is the password state.
	State State
	// Line is the 1-based line of /etc/passwd.
	Line int
}

// Parse returns the accounts of passwd, in file order, taking passwords
// from shadow where passwd defers to it with "x". shadow may be empty when
// the image has none. Lines with too few fields are skipped.
func Parse(passwd, shadow string) []Account {
	sh := parseShadow(shadow)
	var out []Account
	n := 0
	for line := range strings.Lines(passwd) {
		n++
		f := strings.Split(strings.TrimRight(line, "\r\n"), ":")
		if len(f) < 7 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err := strconv.Atoi(f[2])
		if err != nil {
			uid = -1
		}
		out = append(out, Account{Name: f[0], UID: uid, Shell: f[6],
			State: state(f[1], sh, f[0]), Line: n})
	}
	return out
}

// state decides one account's password state. As in pam_unix, passwd's
// own field counts unless it is "x" (or "##name"), which defers to shadow.
func state(field string, shadow map[string]string, name string) State {
	if field != "x" && !strings.HasPrefix(field, "##") {
		return fieldState(field)
	}
	pw, ok := shadow[name]
	if !ok {
		return Locked
	}
	return fieldState(pw)
}

// fieldState classifies a password field, redacted or not.
func fieldState(pw string) State {
	switch {
	case pw == "":
		return Empty
	case strings.HasPrefix(pw, "!"), strings.HasPrefix(pw, "*"):
		return Locked
	default:
		return Hashed
	}
}

// parseShadow maps each shadow account to its password field.
func parseShadow(shadow string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(shadow) {
		name, rest, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if !ok || name == "" {
			continue
		}
		pw, _, _ := strings.Cut(rest, ":")
		if _, seen := m[name]; !seen {
			m[name] = pw
		}
	}
	return m
}
