// Package pep440 compares Python package versions in PEP 440's order:
// epoch, release numbers, then pre-, post- and development releases
// (1.0.dev0 < 1.0a1 < 1.0rc1 < 1.0 < 1.0.post1), then the local label.
package pep440

import (
	"cmp"
	"errors"
	"fmt"

	pep440version "github.com/aquasecurity/go-pep440-version"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "pep440"

// ErrInvalid is wrapped by the errors of [Compare] for a string that is not
// a PEP 440 version.
var ErrInvalid = errors.New("invalid pep440 version")

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b. Normalized spellings compare equal ("1.0RC1" and
// "1.0rc1"). It returns an error wrapping [ErrInvalid] for a string that
// PEP 440 does not accept.
func Compare(a, b string) (int, error) {
	va, err := pep440version.Parse(a)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrInvalid, a, err)
	}
	vb, err := pep440version.Parse(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrInvalid, b, err)
	}
	return cmp.Compare(va.Compare(vb), 0), nil
}
