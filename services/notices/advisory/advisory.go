// Package advisory is the normalized form of a security notice that every
// feed parser under services/notices produces (Debian DSA and DLA lists
// now; Ubuntu, RHEL-family, Alpine and OSV later), and that the notices
// stage stores. A [Notice] names the (release, source package) pairs it
// concerns as [Affected] entries, each with a [Status] and, when fixed, the
// version that fixes it, kept exactly as the feed wrote it.
package advisory

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Status says how a notice's fix stands for one package in one release.
type Status string

// The statuses an [Affected] entry can have. They are the values of the
// affected.status column.
const (
	// StatusFixed means FixedVersion and later are not vulnerable.
	StatusFixed Status = "fixed"
	// StatusUnfixed means the release is vulnerable and no fix exists yet.
	StatusUnfixed Status = "unfixed"
	// StatusNotAffected means the release never had the vulnerable code.
	StatusNotAffected Status = "not-affected"
	// StatusWillNotFix means the distribution decided not to fix it.
	StatusWillNotFix Status = "will-not-fix"
	// StatusDeferred means a fix was postponed to a later update.
	StatusDeferred Status = "deferred"
	// StatusEndOfLife means the release is no longer supported.
	StatusEndOfLife Status = "end-of-life"
	// StatusUndetermined means the feed said something no other status
	// captures, such as an annotation this parser does not know.
	StatusUndetermined Status = "undetermined"
)

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusFixed, StatusUnfixed, StatusNotAffected, StatusWillNotFix,
		StatusDeferred, StatusEndOfLife, StatusUndetermined:
		return true
	}
	return false
}

// EcosystemDpkg names the Debian package ecosystem, whose versions compare
// in dpkg order. It is the value of affected.ecosystem for Debian and
// Ubuntu notices.
const EcosystemDpkg = "dpkg"

// ErrInvalid is wrapped by every error [Notice.Validate] returns.
var ErrInvalid = errors.New("invalid notice")

// Affected is one source package of one release that a notice concerns.
type Affected struct {
	// Ecosystem is the package ecosystem, such as [EcosystemDpkg].
	Ecosystem string
	// Release is the distribution release as the feed names it, such as
	// "bookworm".
	Release string
	// Package is the source package name.
	Package string
	// Status says whether and how the package is fixed in Release.
	Status Status
	// FixedVersion is the first fixed version, verbatim (epochs, "~" and
	// "+really" included). It is set only when Status is [StatusFixed],
	// and then always unless Ranges holds several fixed events.
	FixedVersion string
	// Ranges is the OSV "ranges" array exactly as the feed wrote it, for
	// feeds that publish ranges (OSV); nil for the others. It is stored in
	// affected.ranges.
	Ranges json.RawMessage `json:",omitempty"`
}

// Notice is one security notice in normalized form.
type Notice struct {
	// ID is the notice's identifier, such as "DSA-5380-1". It is unique
	// across every feed.
	ID string
	// Source names the feed, such as "debian-dsa".
	Source string
	// Title is the notice's one-line description. It may be empty.
	Title string
	// Published is when the notice was issued, in UTC. The zero value
	// means the feed did not say.
	Published time.Time
	// Severity is the feed's own severity word. Empty when it has none.
	Severity string
	// CVEs lists the CVE ids the notice fixes.
	CVEs []string
	// URL is where a person can read the notice.
	URL string
	// Packages lists the package names the notice's summary gives, which
	// may differ from the packages in Affected. It is informational: it is
	// not stored and not part of [Notice.ContentHash].
	Packages []string
	// Affected lists the (release, package) pairs the notice concerns.
	// An announcement that concerns no package has none.
	Affected []Affected
}

// Normalize puts n in its canonical form: CVEs sorted without duplicates,
// Affected sorted by ecosystem, release and package, and Published in UTC.
func (n *Notice) Normalize() {
	slices.Sort(n.CVEs)
	n.CVEs = slices.Compact(n.CVEs)
	slices.SortFunc(n.Affected, compareAffected)
	if !n.Published.IsZero() {
		n.Published = n.Published.UTC()
	}
}

func compareAffected(a, b Affected) int {
	return cmp.Or(
		strings.Compare(a.Ecosystem, b.Ecosystem),
		strings.Compare(a.Release, b.Release),
		strings.Compare(a.Package, b.Package),
	)
}

// Validate reports the first reason n cannot be stored: a missing id,
// source or package name, an unknown status, a fixed version that does not
// match its status, the same (ecosystem, release, package) twice, or text
// that is not valid UTF-8 or holds a NUL byte (PostgreSQL rejects both).
// Every error wraps [ErrInvalid].
func (n *Notice) Validate() error {
	if n.ID == "" || n.Source == "" {
		return fmt.Errorf("%w: empty id or source", ErrInvalid)
	}
	for _, s := range append([]string{n.ID, n.Source, n.Title, n.Severity, n.URL}, n.CVEs...) {
		if err := checkText(s); err != nil {
			return err
		}
	}
	type key struct{ ecosystem, release, pkg string }
	seen := make(map[key]bool, len(n.Affected))
	for _, a := range n.Affected {
		if err := a.validate(); err != nil {
			return err
		}
		k := key{a.Ecosystem, a.Release, a.Package}
		if seen[k] {
			return fmt.Errorf("%w: %s %s named twice", ErrInvalid, a.Release, a.Package)
		}
		seen[k] = true
	}
	return nil
}

func (a Affected) validate() error {
	if a.Ecosystem == "" || a.Package == "" {
		return fmt.Errorf("%w: affected entry without ecosystem or package", ErrInvalid)
	}
	if len(a.Ranges) > 0 && !json.Valid(a.Ranges) {
		return fmt.Errorf("%w: %s %s: ranges are not JSON", ErrInvalid, a.Release, a.Package)
	}
	if !a.Status.Valid() {
		return fmt.Errorf("%w: %s %s: unknown status %q",
			ErrInvalid, a.Release, a.Package, a.Status)
	}
	if a.FixedVersion != "" && a.Status != StatusFixed ||
		a.Status == StatusFixed && a.FixedVersion == "" && len(a.Ranges) == 0 {
		return fmt.Errorf("%w: %s %s: status %s with fixed version %q",
			ErrInvalid, a.Release, a.Package, a.Status, a.FixedVersion)
	}
	for _, s := range []string{a.Ecosystem, a.Release, a.Package, a.FixedVersion} {
		if err := checkText(s); err != nil {
			return err
		}
	}
	return nil
}

func checkText(s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: text %q is not NUL-free UTF-8", ErrInvalid, s)
	}
	return nil
}

// hashVersion names the canonical encoding below. Changing the encoding
// must change it, so that every stored notice is seen as changed once.
const hashVersion = "crawlspace.notice.v1"

// canonical is the encoding ContentHash digests. Field order is fixed by
// the struct, and encoding/json writes it deterministically. Slices are
// never nil, so that no list and an empty list encode alike.
type canonical struct {
	Version   string     `json:"v"`
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Published string     `json:"published"`
	Severity  string     `json:"severity"`
	CVEs      []string   `json:"cves"`
	Affected  []Affected `json:"affected"`
}

// ContentHash returns the lowercase hex SHA-256 of n's canonical encoding:
// id, title, published (RFC 3339, UTC), severity, CVEs and affected
// entries, normalized as by [Notice.Normalize] on a copy. Two notices that
// normalize alike have the same hash; n itself is not modified.
func (n *Notice) ContentHash() string {
	c := *n
	c.CVEs = slices.Clone(n.CVEs)
	c.Affected = slices.Clone(n.Affected)
	c.Normalize()
	enc := canonical{
		Version:  hashVersion,
		ID:       c.ID,
		Title:    c.Title,
		Severity: c.Severity,
		CVEs:     append([]string{}, c.CVEs...),
		Affected: append([]Affected{}, c.Affected...),
	}
	if !c.Published.IsZero() {
		enc.Published = c.Published.Format(time.RFC3339Nano)
	}
	data, err := json.Marshal(enc)
	if err != nil {
		// Strings, slices and structs of strings always marshal.
		panic(fmt.Sprintf("encode notice %s: %v", n.ID, err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
