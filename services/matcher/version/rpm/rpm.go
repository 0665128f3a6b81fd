// Package rpm compares RPM package versions "[epoch:]version[-release]" in
// rpm's own order: epochs as numbers, then version and release segment by
// segment, where "~" sorts before anything, even the end of the string
// ("1.0~rc1" < "1.0"), and "^" sorts after the end but before any other
// segment ("1.0" < "1.0^git1" < "1.0.1").
package rpm

import (
	"errors"
	"fmt"
	"strings"

	rpmversion "github.com/knqyf263/go-rpm-version"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "rpm"

// ErrInvalid is wrapped by the errors of [Compare] for a string that is not
// an RPM version.
var ErrInvalid = errors.New("invalid rpm version")

// evr is a version split the way rpm splits it.
type evr struct {
	epoch   string
	version string
	release string
}

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b, as rpm's vercmp (rpm.vercmp in rpm 4.18) does. A
// missing epoch is 0, and a missing release is an empty one, which sorts
// before any other: "1.0" < "1.0-1". It returns an error wrapping
// [ErrInvalid] for an empty version or one holding blanks.
func Compare(a, b string) (int, error) {
	ea, err := parse(a)
	if err != nil {
		return 0, err
	}
	eb, err := parse(b)
	if err != nil {
		return 0, err
	}
	if c := compareEpoch(ea.epoch, eb.epoch); c != 0 {
		return c, nil
	}
	if c := segments(ea.version, eb.version); c != 0 {
		return c, nil
	}
	return segments(ea.release, eb.release), nil
}

// parse splits s as rpm does: the epoch is a run of digits before a colon,
// the release follows the last hyphen.
func parse(s string) (evr, error) {
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return evr{}, fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	e := evr{epoch: "0", version: s}
	digits := 0
	for digits < len(s) && '0' <= s[digits] && s[digits] <= '9' {
		digits++
	}
	if digits < len(s) && s[digits] == ':' {
		if digits > 0 {
			e.epoch = s[:digits]
		}
		e.version = s[digits+1:]
	}
	if i := strings.LastIndexByte(e.version, '-'); i >= 0 {
		e.version, e.release = e.version[:i], e.version[i+1:]
	}
	if e.version == "" {
		return evr{}, fmt.Errorf("%w: %q has an empty version", ErrInvalid, s)
	}
	return e, nil
}

// compareEpoch compares two digit strings as numbers of any size.
func compareEpoch(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// segments compares two version or release strings with rpmvercmp, through
// go-rpm-version. The library would read a colon as an epoch and a hyphen
// as the release separator; in rpmvercmp both are plain separators, like
// ".", so they are passed as dots.
func segments(a, b string) int {
	if a == b {
		return 0
	}
	va := rpmversion.NewVersion("0:" + separators.Replace(a))
	vb := rpmversion.NewVersion("0:" + separators.Replace(b))
	return va.Compare(vb)
}

var separators = strings.NewReplacer(":", ".", "-", ".")
