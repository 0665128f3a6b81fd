// Package gem compares RubyGems versions in Gem::Version's order: segments
// split at dots and at letter-digit boundaries, numbers as numbers, a
// segment with letters marking a pre-release that sorts before the release
// ("1.0.a" < "1.0"), trailing zeros ignored ("1.0" equals "1").
package gem

import (
	"cmp"
	"errors"
	"fmt"

	gemversion "github.com/aquasecurity/go-gem-version"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "gem"

// ErrInvalid is wrapped by the errors of [Compare] for a string that is not
// a RubyGems version.
var ErrInvalid = errors.New("invalid gem version")

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b. It returns an error wrapping [ErrInvalid] for a
// string Gem::Version rejects.
func Compare(a, b string) (int, error) {
	va, err := gemversion.NewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrInvalid, a, err)
	}
	vb, err := gemversion.NewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrInvalid, b, err)
	}
	return cmp.Compare(va.Compare(vb), 0), nil
}
