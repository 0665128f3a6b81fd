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
	// Aging is the password ageing of the account's /etc/shadow entry.
	Aging Aging
}

// Aging is an account's password ageing, from its /etc/shadow entry, which
// the crawler's redaction keeps. Each count is -1 when its field is empty
// or not a number, as for an account without an entry.
type Aging struct {
	// Line is the 1-based line of /etc/shadow; 0 when there is no entry.
	Line int
	// LastChange is the day of the last password change, in days since
	// 1970-01-01; 0 forces a change at the next login.
	LastChange int
	// MinDays and MaxDays bound the password's age in days; WarnDays is
	// how many days before expiry the user is warned.
	MinDays, MaxDays, WarnDays int
	// InactiveDays is how long after expiry a password still logs in.
	InactiveDays int
	// Expire is the day the account expires, in days since 1970-01-01.
	Expire int
}

// noAging is the ageing of an account without a shadow entry.
var noAging = Aging{LastChange: -1, MinDays: -1, MaxDays: -1, WarnDays: -1,
	InactiveDays: -1, Expire: -1}

// Parse returns the accounts of passwd, in file order, taking passwords
// from shadow where passwd defers to it with "x". shadow may be empty when
// the image has none. Lines with too few fields are skipped.
func Parse(passwd, shadow string) []Account {
	sh := parseShadow(shadow)
	aging := parseAging(shadow)
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
		a, ok := aging[f[0]]
		if !ok {
			a = noAging
		}
		out = append(out, Account{Name: f[0], UID: uid, Shell: f[6],
			State: state(f[1], sh, f[0]), Line: n, Aging: a})
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

// parseAging maps each shadow account to its ageing fields: name,
// password, then last change, minimum, maximum, warning, inactivity and
// expiry. The first entry of a name counts, as for the password.
func parseAging(shadow string) map[string]Aging {
	m := map[string]Aging{}
	n := 0
	for line := range strings.Lines(shadow) {
		n++
		f := strings.Split(strings.TrimRight(line, "\r\n"), ":")
		if f[0] == "" || len(f) < 2 {
			continue
		}
		if _, seen := m[f[0]]; seen {
			continue
		}
		day := func(i int) int {
			if i >= len(f) {
				return -1
			}
			d, err := strconv.Atoi(f[i])
			if err != nil {
				return -1
			}
			return d
		}
		m[f[0]] = Aging{Line: n, LastChange: day(2), MinDays: day(3), MaxDays: day(4),
			WarnDays: day(5), InactiveDays: day(6), Expire: day(7)}
	}
	return m
}
