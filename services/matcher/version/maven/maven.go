// Package maven compares Maven artifact versions in the order the POM
// reference's "Version Order Specification" documents (the order of
// Maven's ComparableVersion):
//
//   - A version splits into tokens at dots, hyphens and transitions between
//     digits and letters; a transition counts as a hyphen, and every hyphen
//     opens a nested list of the tokens after it.
//   - An empty token is 0. Trailing "null" tokens (0, "", "final", "ga",
//     "release") are trimmed at the end of each list, innermost first.
//   - Numbers compare as numbers. Qualifiers compare as
//     alpha < beta < milestone < rc = cr < snapshot < "" = final = ga <
//     sp, and any other qualifier after those, alphabetically; "a", "b" and
//     "m" directly followed by a digit mean alpha, beta and milestone.
//   - ".qualifier" = "-qualifier" < "-number" < ".number". Case does not
//     matter.
package maven

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Comparator is the name findings record for versions compared here.
const Comparator = "maven"

// ErrInvalid is wrapped by the errors of [Compare] for a string that is not
// a Maven version.
var ErrInvalid = errors.New("invalid maven version")

// Compare returns -1 when a sorts before b, 0 when they are equal, and +1
// when a sorts after b. Any non-empty string without blanks is a Maven
// version; it returns an error wrapping [ErrInvalid] for the others.
func Compare(a, b string) (int, error) {
	la, err := parse(a)
	if err != nil {
		return 0, err
	}
	lb, err := parse(b)
	if err != nil {
		return 0, err
	}
	return la.compare(lb), nil
}

// kind is the kind of an [item].
type kind int

const (
	kindInt kind = iota
	kindString
	kindList
)

// item is one token: a number (its digits without leading zeros), a
// qualifier (its comparable form, see [qualifierKey]) or a nested list.
type item struct {
	kind kind
	text string
	list []item
}

// isNull reports whether it is one of the values trimmed from list ends.
func (it item) isNull() bool {
	switch it.kind {
	case kindInt:
		return it.text == ""
	case kindString:
		return it.text == releaseKey
	}
	return len(it.list) == 0
}

// parse splits v into nested lists and trims them.
func parse(v string) (item, error) {
	if v == "" || strings.ContainsAny(v, " \t\n") {
		return item{}, fmt.Errorf("%w: %q", ErrInvalid, v)
	}
	p := parser{s: strings.ToLower(v)}
	p.run()
	return p.root(), nil
}

// parser builds the token lists; stack[len-1] is the list being filled.
type parser struct {
	s     string
	stack [][]item
	// dotted is true when the token being read was preceded by a dot.
	dotted bool
}

func (p *parser) run() {
	p.stack = [][]item{nil}
	start, digits := 0, false
	for i := 0; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case c == '.' || c == '-':
			p.token(p.s[start:i], digits, false)
			if c == '-' {
				p.open()
			}
			p.dotted = c == '.'
			start = i + 1
		case isDigit(c) != digits && i > start:
			p.token(p.s[start:i], digits, isDigit(c))
			p.open()
			p.dotted = false
			start = i
		}
		if c != '.' && c != '-' {
			digits = isDigit(c)
		}
	}
	if start < len(p.s) {
		p.token(p.s[start:], digits, false)
	}
}

// token adds one token to the current list. A qualifier after a dot is
// placed as if after a hyphen (".qualifier" = "-qualifier").
func (p *parser) token(t string, digits, beforeDigit bool) {
	switch {
	case t == "":
		p.add(item{kind: kindInt})
	case digits:
		p.add(item{kind: kindInt, text: strings.TrimLeft(t, "0")})
	default:
		if p.dotted && len(p.stack[len(p.stack)-1]) > 0 {
			p.open()
		}
		p.add(item{kind: kindString, text: qualifierKey(t, beforeDigit)})
	}
}

func (p *parser) add(it item) {
	top := len(p.stack) - 1
	p.stack[top] = append(p.stack[top], it)
}

// open starts a nested list inside the current one.
func (p *parser) open() { p.stack = append(p.stack, nil) }

// root closes every open list, innermost first, trimming each.
func (p *parser) root() item {
	inner := item{kind: kindList}
	for i := len(p.stack) - 1; i >= 0; i-- {
		l := p.stack[i]
		if i < len(p.stack)-1 {
			l = append(l, inner)
		}
		inner = item{kind: kindList, list: trim(l)}
	}
	return inner
}

// trim drops null items from the end of l, looking past non-null lists, as
// ComparableVersion's normalization does.
func trim(l []item) []item {
	for i := len(l) - 1; i >= 0; i-- {
		switch {
		case l[i].isNull():
			l = append(l[:i], l[i+1:]...)
		case l[i].kind != kindList:
			return l
		}
	}
	return l
}

// qualifiers lists the known qualifiers in order; "" is the release.
var qualifiers = []string{"alpha", "beta", "milestone", "rc", "snapshot", "", "sp"}

// releaseKey is the comparable form of "", "ga", "final" and "release".
var releaseKey = strconv.Itoa(5)

// qualifierKey returns q's comparable form: the index of a known qualifier,
// or the count of known ones, a hyphen and q itself, so that unknown
// qualifiers sort after known ones and among themselves alphabetically.
func qualifierKey(q string, beforeDigit bool) string {
	if beforeDigit && len(q) == 1 {
		switch q {
		case "a":
			q = "alpha"
		case "b":
			q = "beta"
		case "m":
			q = "milestone"
		}
	}
	switch q {
	case "ga", "final", "release":
		q = ""
	case "cr":
		q = "rc"
	}
	for i, k := range qualifiers {
		if q == k {
			return strconv.Itoa(i)
		}
	}
	return strconv.Itoa(len(qualifiers)) + "-" + q
}

// compare orders it against o; a nil o (an absent item) is passed as
// absent=true through [compareAbsent].
func (it item) compare(o item) int {
	switch it.kind {
	case kindInt:
		if o.kind != kindInt {
			return 1
		}
		return compareNumbers(it.text, o.text)
	case kindString:
		if o.kind != kindString {
			return -1
		}
		return strings.Compare(it.text, o.text)
	}
	switch o.kind {
	case kindInt:
		return -1
	case kindString:
		return 1
	}
	for i := 0; i < max(len(it.list), len(o.list)); i++ {
		var c int
		switch {
		case i >= len(it.list):
			c = -o.list[i].compareAbsent()
		case i >= len(o.list):
			c = it.list[i].compareAbsent()
		default:
			c = it.list[i].compare(o.list[i])
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compareAbsent orders it against a missing item, which is the release.
func (it item) compareAbsent() int {
	switch it.kind {
	case kindInt:
		if it.text == "" {
			return 0
		}
		return 1
	case kindString:
		return strings.Compare(it.text, releaseKey)
	}
	if len(it.list) == 0 {
		return 0
	}
	return it.list[0].compareAbsent()
}

// compareNumbers compares digit strings without leading zeros.
func compareNumbers(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
