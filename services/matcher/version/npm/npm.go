// Package npm compares npm package versions in semantic versioning order
// (semver 2.0.0): major, minor and patch as numbers, a pre-release sorting
// before its release, build metadata ignored.
package npm

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	npmversion "github.com/aquasecurity/go-npm-version/pkg"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "npm"

// ErrInvalid is wrapped by the errors of [Compare] for a string that is not
// a semantic version.
var ErrInvalid = errors.New("invalid npm version")

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b. A leading "v" or "=" is accepted, as npm accepts
// it. It returns an error wrapping [ErrInvalid] otherwise.
func Compare(a, b string) (int, error) {
	va, err := npmversion.NewVersion(clean(a))
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrInvalid, a, err)
	}
	vb, err := npmversion.NewVersion(clean(b))
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrInvalid, b, err)
	}
	return cmp.Compare(va.Compare(vb), 0), nil
}

// clean drops the "v" or "=" prefix and the blanks that npm's semver
// accepts around a version and go-npm-version rejects.
func clean(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "=")
	return strings.TrimPrefix(s, "v")
}
