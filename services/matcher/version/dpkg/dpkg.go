// Package dpkg compares Debian package versions in dpkg's own order:
// epochs first, then the upstream version and the Debian revision, each
// compared as alternating non-digit and digit runs, where letters sort
// before other characters and a tilde sorts before everything, even the
// end of the string ("1.0~rc1" < "1.0").
//
// The comparator follows the algorithm deb-version(7) documents and does
// not allocate: it works on the two strings in place, so that a matcher can
// run millions of comparisons a second.
package dpkg

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "dpkg"

// ErrInvalid is wrapped by the errors of [Compare] and [Valid] for a string
// that is not a Debian version.
var ErrInvalid = errors.New("invalid dpkg version")

// maxEpoch is the largest epoch dpkg accepts (INT_MAX).
const maxEpoch = 1<<31 - 1

// Version is a parsed Debian version: three substrings of the original,
// so parsing does not allocate.
type Version struct {
	// Epoch is the number before the first colon, 0 when there is none.
	Epoch uint32
	// Upstream is the part between the epoch and the last hyphen.
	Upstream string
	// Revision is the part after the last hyphen, "" when there is none.
	Revision string
}

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b, as `dpkg --compare-versions` does. A missing epoch
// is epoch 0, so "1.0" equals "0:1.0", and a missing revision equals "0".
// It returns an error wrapping [ErrInvalid] when either string is not a
// valid Debian version. Digit runs of any length compare exactly.
func Compare(a, b string) (int, error) {
	va, err := Parse(a)
	if err != nil {
		return 0, err
	}
	vb, err := Parse(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

// Compare orders v and w as [Compare] orders their strings.
func (v Version) Compare(w Version) int {
	switch {
	case v.Epoch < w.Epoch:
		return -1
	case v.Epoch > w.Epoch:
		return 1
	}
	if c := compareRuns(v.Upstream, w.Upstream); c != 0 {
		return c
	}
	return compareRuns(v.Revision, w.Revision)
}

// Parse splits s into epoch, upstream version and revision. Leading and
// trailing blanks are ignored, as dpkg ignores them. Unlike dpkg, which
// only warns, it rejects an upstream version that does not start with a
// digit and characters outside the documented sets, so that garbage never
// reaches a comparison.
func Parse(s string) (Version, error) {
	v, ok := split(s)
	if ok {
		return v, nil
	}
	if t := strings.Trim(s, " \t"); t != s {
		if v, ok := split(t); ok {
			return v, nil
		}
	}
	return Version{}, explain(strings.Trim(s, " \t"))
}

// split parses s in one pass over its bytes, reporting only whether s is
// valid; [explain] says why not.
func split(s string) (Version, bool) {
	colon, lastColon, hyphen := -1, -1, -1
	for i := 0; i < len(s); i++ {
		k := class[s[i]]
		if k == 0 {
			return Version{}, false
		}
		if k&separator != 0 {
			if s[i] == '-' {
				hyphen = i
			} else {
				lastColon = i
				if colon < 0 {
					colon = i
				}
			}
		}
	}
	if hyphen >= 0 && lastColon > hyphen || hyphen == len(s)-1 {
		return Version{}, false
	}
	var v Version
	if colon >= 0 {
		epoch, err := parseEpoch(s[:colon])
		if err != nil {
			return Version{}, false
		}
		v.Epoch = epoch
	}
	v.Upstream = s[colon+1:]
	if hyphen >= 0 {
		v.Upstream, v.Revision = s[colon+1:hyphen], s[hyphen+1:]
	}
	if v.Upstream == "" || !isDigit(v.Upstream[0]) {
		return Version{}, false
	}
	return v, true
}

// explain returns the error for a string [split] rejected.
func explain(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInvalid)
	}
	rest := s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if _, err := parseEpoch(s[:i]); err != nil {
			return fmt.Errorf("%w %q: %w", ErrInvalid, s, err)
		}
		rest = s[i+1:]
	}
	upstream, revision := rest, ""
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		upstream, revision = rest[:i], rest[i+1:]
		if revision == "" {
			return fmt.Errorf("%w %q: empty revision", ErrInvalid, s)
		}
	}
	if err := checkUpstream(upstream); err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalid, s, err)
	}
	if err := checkRevision(revision); err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalid, s, err)
	}
	return fmt.Errorf("%w: %q", ErrInvalid, s)
}

// Valid reports whether s is a Debian version [Parse] accepts.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// parseEpoch reads the decimal epoch e, which must fit dpkg's int.
func parseEpoch(e string) (uint32, error) {
	if e == "" {
		return 0, errors.New("empty epoch")
	}
	var n uint64
	for i := 0; i < len(e); i++ {
		if !isDigit(e[i]) {
			return 0, errors.New("epoch is not a number")
		}
		n = n*10 + uint64(e[i]-'0')
		if n > maxEpoch {
			return 0, errors.New("epoch too big")
		}
	}
	return uint32(n), nil
}

// checkUpstream enforces the upstream version's character set.
func checkUpstream(u string) error {
	if u == "" {
		return errors.New("empty upstream version")
	}
	if !isDigit(u[0]) {
		return errors.New("upstream version does not start with a digit")
	}
	for i := 1; i < len(u); i++ {
		if class[u[i]]&upstreamOK == 0 {
			return fmt.Errorf("invalid character %q in upstream version", u[i])
		}
	}
	return nil
}

// checkRevision enforces the Debian revision's character set.
func checkRevision(r string) error {
	for i := 0; i < len(r); i++ {
		if class[r[i]]&revisionOK == 0 {
			return fmt.Errorf("invalid character %q in revision", r[i])
		}
	}
	return nil
}

// compareRuns compares two upstream versions or two revisions: first the
// leading non-digit runs character by character in [weight] order, then the
// digit runs as numbers, and so on until both strings end.
func compareRuns(a, b string) int {
	i := skipCommon(a, b)
	j := i
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			wa, wb := weight(a, i), weight(b, j)
			if wa != wb {
				return cmp.Compare(wa, wb)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return cmp.Compare(first, 0)
		}
	}
	return 0
}

// skipCommon returns where a comparison of a and b may start: the end of
// their common prefix, moved back to the start of the digit run it ends
// in, where the comparison of both strings is in the same state.
func skipCommon(a, b string) int {
	n := min(len(a), len(b))
	k := 0
	for k < n && a[k] == b[k] {
		k++
	}
	for k > 0 && isDigit(a[k-1]) {
		k--
	}
	return k
}

// weight is the sort weight of s[i] within a non-digit run: the end of the
// string and digits weigh 0, a tilde less, letters their code and every
// other character more than any letter.
func weight(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	return int(weights[s[i]])
}

// Character classes for validation.
const (
	upstreamOK = 1 << iota
	revisionOK
	separator // '-' or ':', which split tracks
)

// class and weights are per-byte tables built once by init.
var (
	class   [256]uint8
	weights [256]int16
)

func init() {
	for c := range 256 {
		b := byte(c)
		switch {
		case isDigit(b):
			weights[c] = 0
		case isAlpha(b):
			weights[c] = int16(c)
		case b == '~':
			weights[c] = -1
		default:
			weights[c] = int16(c) + 256
		}
		if isAlnum(b) || strings.IndexByte(".+~", b) >= 0 {
			class[c] = upstreamOK | revisionOK
		}
		if b == '-' || b == ':' {
			class[c] = upstreamOK | separator
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
