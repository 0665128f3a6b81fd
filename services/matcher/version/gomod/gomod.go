// Package gomod compares Go module versions in the go command's order:
// semantic versions with a "v" prefix, pre-releases (including
// pseudo-versions such as v0.0.0-20200101000000-abcdefabcdef) before their
// release, "+incompatible" and other build metadata ignored.
package gomod

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/semver"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "go"

// ErrInvalid is wrapped by the errors of [Compare] for a string that is not
// a Go module version.
var ErrInvalid = errors.New("invalid go module version")

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b. Versions may come with or without the "v" prefix:
// OSV writes "1.2.3", go.mod and build info write "v1.2.3". Shorthands
// such as "v1.2" are accepted as semver does ("v1.2" equals "v1.2.0"). It
// returns an error wrapping [ErrInvalid] for anything else.
func Compare(a, b string) (int, error) {
	va, err := canonical(a)
	if err != nil {
		return 0, err
	}
	vb, err := canonical(b)
	if err != nil {
		return 0, err
	}
	return semver.Compare(va, vb), nil
}

// canonical adds the "v" prefix when s lacks it and checks the result.
func canonical(s string) (string, error) {
	v := s
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) {
		return "", fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	return v, nil
}
