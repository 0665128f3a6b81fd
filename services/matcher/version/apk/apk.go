// Package apk compares Alpine package versions in apk-tools' order:
// numbers, then an optional letter, then suffixes, where pre-release
// suffixes sort before the plain version (_alpha < _beta < _pre < _rc <
// none) and post-release ones after it (_cvs, _svn, _git, _hg, _p), then
// the package revision -rN.
package apk

import (
	"errors"
	"fmt"

	apkversion "github.com/knqyf263/go-apk-version"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "apk"

// ErrInvalid is wrapped by the errors of [Compare] for a string that is not
// an apk version.
var ErrInvalid = errors.New("invalid apk version")

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b. It returns an error wrapping [ErrInvalid] when
// either string is not a valid apk version.
func Compare(a, b string) (int, error) {
	// go-apk-version accepts the empty string, which apk does not.
	if a == "" || b == "" {
		return 0, fmt.Errorf("%w: empty", ErrInvalid)
	}
	va, err := apkversion.NewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrInvalid, a)
	}
	vb, err := apkversion.NewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrInvalid, b)
	}
	return va.Compare(vb), nil
}
