package accounts

import (
	"strconv"
	"strings"
)

// Group is one line of /etc/group with its gshadow password state.
type Group struct {
	// Name is the group name.
	Name string
	// GID is the group id; -1 when the field is not a number.
	GID int
	// Members are the users listed in the group's fourth field.
	Members []string
	// State is the group password state: from gshadow when group defers
	// to it with "x", else from group's own field. A group without any
	// password is [Locked] for newgrp unless a field is present and empty.
	State State
	// Line is the 1-based line of /etc/group.
	Line int
}

// ParseGroups returns the groups of group, in file order, with password
// states from gshadow (which may be empty). Lines with too few fields are
// skipped.
func ParseGroups(group, gshadow string) []Group {
	gs := parseShadow(gshadow)
	var out []Group
	n := 0
	for line := range strings.Lines(group) {
		n++
		f := strings.Split(strings.TrimRight(line, "\r\n"), ":")
		if len(f) < 4 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			gid = -1
		}
		out = append(out, Group{Name: f[0], GID: gid, Members: list(f[3]),
			State: groupState(f[1], gs, f[0]), Line: n})
	}
	return out
}

// groupState decides a group's password state as newgrp does: gshadow's
// field when the group has a gshadow entry, else group's own field.
func groupState(field string, gshadow map[string]string, name string) State {
	if pw, ok := gshadow[name]; ok {
		return fieldState(pw)
	}
	if field == "x" {
		return Locked
	}
	return fieldState(field)
}

// list splits a comma-separated member list, dropping empty names.
func list(s string) []string {
	out := []string{}
	for m := range strings.SplitSeq(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}
