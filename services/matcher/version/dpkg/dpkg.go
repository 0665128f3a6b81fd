// Package dpkg compares Debian package versions in dpkg's own order:
// epochs first, then the upstream version and the Debian revision, each
// compared as alternating non-digit and digit runs, where letters sort
// before other characters and a tilde sorts before everything, even the
// end of the string ("1.0~rc1" < "1.0").
package dpkg

import (
	"fmt"

	debversion "github.com/knqyf263/go-deb-version"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "dpkg"

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b, as `dpkg --compare-versions` does. A missing epoch
// is epoch 0, so "1.0" equals "0:1.0". It returns an error when either
// string is not a valid Debian version.
//
// TODO(crawlspace): digit runs longer than 19 digits saturate instead of
// comparing exactly, so two such runs that differ compare equal.
func Compare(a, b string) (int, error) {
	va, err := debversion.NewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("parse version %q: %w", a, err)
	}
	vb, err := debversion.NewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("parse version %q: %w", b, err)
	}
	switch c := va.Compare(vb); {
	case c < 0:
		return -1, nil
	case c > 0:
		return 1, nil
	default:
		return 0, nil
	}
}
