package matcher

import (
	"encoding/json"
	"fmt"
	"slices"

	"crawlspace.dev/services/matcher/version"
	"crawlspace.dev/services/platform/distro"
)

// Affected statuses, as the notices stage writes them.
const (
	statusFixed        = "fixed"
	statusUnfixed      = "unfixed"
	statusNotAffected  = "not-affected"
	statusWillNotFix   = "will-not-fix"
	statusDeferred     = "deferred"
	statusEndOfLife    = "end-of-life"
	statusUndetermined = "undetermined"
)

// Package is an installed package as the matcher compares it: notices name
// SourceName and the comparison is on SourceVersion. For language packages
// both are the package's own name and version.
type Package struct {
	Ecosystem     string
	Name          string
	SourceName    string
	SourceVersion string
}

// Affected is one affected row of a notice.
type Affected struct {
	NoticeID     string
	Ecosystem    string
	Release      string
	Package      string
	FixedVersion string
	Status       string
	// Ranges are OSV ranges; when any of type ECOSYSTEM or SEMVER is
	// present they decide, and FixedVersion only explains.
	Ranges []Range
}

// Range is one OSV affected range.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// parseRanges decodes affected.ranges.
func parseRanges(data []byte) ([]Range, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var rs []Range
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, fmt.Errorf("decode ranges: %w", err)
	}
	return rs, nil
}

// isDistro reports whether ecosystem's packages are matched per release.
// Language packages are matched with release "".
func isDistro(ecosystem string) bool {
	return ecosystem == distro.Dpkg || ecosystem == distro.RPM || ecosystem == distro.APK
}

// key identifies a finding within one image.
type key struct {
	ecosystem string
	pkg       string
	noticeID  string
}

// finding is one row of the findings table, less the image, the key and
// the times. Every field explains the finding.
type finding struct {
	sourceName       string
	installedVersion string
	fixedVersion     string
	release          string
	status           string
	comparator       string
}

// decide reports whether a makes p vulnerable, and the finding if so.
// Ranges decide when there are usable ones; otherwise a fixed notice counts
// when the installed version sorts before the fix, and unfixed,
// will-not-fix, deferred and end-of-life ones count whatever the version.
// Not-affected and undetermined rows never count.
func decide(p Package, a Affected) (finding, bool, error) {
	if a.Status == statusNotAffected || a.Status == statusUndetermined {
		return finding{}, false, nil
	}
	s, ok := version.For(p.Ecosystem)
	if !ok {
		return finding{}, false, fmt.Errorf("no version order for ecosystem %q", p.Ecosystem)
	}
	f := finding{sourceName: p.SourceName, installedVersion: p.SourceVersion,
		release: a.Release, status: a.Status, comparator: s.Name}
	if usable(a.Ranges) {
		return inRanges(s, p.SourceVersion, f, a.Ranges)
	}
	switch a.Status {
	case statusFixed:
		if a.FixedVersion == "" {
			return finding{}, false, fmt.Errorf("notice %s fixes %s without a version",
				a.NoticeID, a.Package)
		}
		c, err := s.Compare(p.SourceVersion, a.FixedVersion)
		if err != nil {
			return finding{}, false, fmt.Errorf("compare %q %q: %w",
				p.SourceVersion, a.FixedVersion, err)
		}
		f.fixedVersion = a.FixedVersion
		return f, c < 0, nil
	case statusUnfixed, statusWillNotFix, statusDeferred, statusEndOfLife:
		return f, true, nil
	}
	return finding{}, false, fmt.Errorf("notice %s has unknown status %q", a.NoticeID, a.Status)
}

// usable reports whether rs holds a range the matcher can evaluate; GIT
// ranges name commits, not versions, and are ignored.
func usable(rs []Range) bool {
	for _, r := range rs {
		if r.Type != "GIT" && len(r.Events) > 0 {
			return true
		}
	}
	return false
}

// inRanges reports whether v lies in any range, as OSV evaluates one; see
// inRange.
func inRanges(s version.Scheme, v string, f finding, rs []Range) (finding, bool, error) {
	for _, r := range rs {
		if r.Type == "GIT" {
			continue
		}
		hit, fixed, err := inRange(s, v, r.Events)
		if err != nil {
			return finding{}, false, err
		}
		if hit {
			f.fixedVersion = fixed
			if fixed != "" {
				f.status = statusFixed
			} else if f.status == statusFixed {
				f.status = statusUnfixed
			}
			return f, true, nil
		}
	}
	return finding{}, false, nil
}

// inRange evaluates one range's events in the ecosystem's order, whatever
// order OSV lists them in, with introduced "0" lowest: v is affected after
// an introduced event at or below it, until a fixed event at or below it
// or a last_affected event below it; a limit event at or below v puts v
// out of the range. It returns the fix of the interval v is in, "" when
// that interval has none.
func inRange(s version.Scheme, v string, events []Event) (bool, string, error) {
	sorted, err := sortEvents(s, events)
	if err != nil {
		return false, "", err
	}
	in := false
	for _, e := range sorted {
		at, kind := e.version()
		c, err := compareEvent(s, v, e)
		if err != nil {
			return false, "", err
		}
		if c < 0 {
			// Every later event is above v too.
			if in && kind == "fixed" {
				return true, at, nil
			}
			return in, "", nil
		}
		switch kind {
		case "introduced":
			in = true
		case "fixed":
			in = false
		case "last_affected":
			in = in && c == 0
		case "limit":
			return false, "", nil
		}
	}
	return in, "", nil
}

// version returns the event's version and which field holds it.
func (e Event) version() (string, string) {
	switch {
	case e.Introduced != "":
		return e.Introduced, "introduced"
	case e.Fixed != "":
		return e.Fixed, "fixed"
	case e.LastAffected != "":
		return e.LastAffected, "last_affected"
	case e.Limit != "":
		return e.Limit, "limit"
	}
	return "", ""
}

// compareEvent compares v with an event's version: introduced "0" is below
// every version and limit "*" above every one.
func compareEvent(s version.Scheme, v string, e Event) (int, error) {
	at, kind := e.version()
	switch {
	case kind == "introduced" && at == "0":
		return 1, nil
	case kind == "limit" && at == "*":
		return -1, nil
	case kind == "":
		return 0, fmt.Errorf("range event without a version")
	}
	c, err := s.Compare(v, at)
	if err != nil {
		return 0, fmt.Errorf("compare %q %q: %w", v, at, err)
	}
	return c, nil
}

// sortEvents returns events in the ecosystem's version order, introduced
// "0" first and limit "*" last; events of one version keep their order.
func sortEvents(s version.Scheme, events []Event) ([]Event, error) {
	rank := func(e Event) (string, int) {
		at, kind := e.version()
		switch {
		case kind == "introduced" && at == "0":
			return at, -1
		case kind == "limit" && at == "*":
			return at, 1
		}
		return at, 0
	}
	var err error
	out := slices.Clone(events)
	slices.SortStableFunc(out, func(a, b Event) int {
		va, ra := rank(a)
		vb, rb := rank(b)
		if ra != 0 || rb != 0 {
			return ra - rb
		}
		c, cerr := s.Compare(va, vb)
		if cerr != nil && err == nil {
			err = fmt.Errorf("compare %q %q: %w", va, vb, cerr)
		}
		return c
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// affectedKey finds the affected rows of one source package.
type affectedKey struct {
	ecosystem string
	release   string
	pkg       string
}

// Index holds affected rows by ecosystem, release and source package, so
// that [Match] looks each package up once.
type Index map[affectedKey][]Affected

// NewIndex indexes rows.
func NewIndex(rows []Affected) Index {
	idx := Index{}
	for _, a := range rows {
		k := affectedKey{a.Ecosystem, a.Release, a.Package}
		idx[k] = append(idx[k], a)
	}
	return idx
}

// skipped is a package and affected row that could not be decided.
type skipped struct {
	pkg      Package
	noticeID string
	err      error
}

// Match returns the findings an image of release with pkgs should have
// against idx: distribution packages against the rows of release, language
// packages against those of release "". It is a pure function; rows that
// cannot be decided, such as one with an invalid version, are returned as
// skipped so that they do not hide the rest. When a binary appears twice
// (several architectures), its first occurrence decides.
func Match(release string, pkgs []Package, idx Index) (map[key]finding, []skipped) {
	want := map[key]finding{}
	var skips []skipped
	for _, p := range pkgs {
		rel := ""
		if isDistro(p.Ecosystem) {
			if release == "" {
				continue
			}
			rel = release
		}
		for _, a := range idx[affectedKey{p.Ecosystem, rel, p.SourceName}] {
			k := key{ecosystem: p.Ecosystem, pkg: p.Name, noticeID: a.NoticeID}
			if _, ok := want[k]; ok {
				continue
			}
			f, vulnerable, err := decide(p, a)
			if err != nil {
				skips = append(skips, skipped{pkg: p, noticeID: a.NoticeID, err: err})
				continue
			}
			if vulnerable {
				want[k] = f
			}
		}
	}
	return want, skips
}

// stored is a finding as the table holds it.
type stored struct {
	finding
	resolved bool
}

// plan is the set of writes that brings an image's findings up to date.
type plan struct {
	upserts  map[key]finding
	resolves []key
	open     int
	added    []string
	resolved []string
}

// diff compares the findings an image has with those it should have.
// Open findings that are unchanged need no write; resolved ones found again
// are reopened; open ones no longer found are resolved.
func diff(have map[key]stored, want map[key]finding) plan {
	p := plan{upserts: map[key]finding{}, open: len(want)}
	before, after := map[string]bool{}, map[string]bool{}
	for k, f := range want {
		after[k.noticeID] = true
		if h, ok := have[k]; !ok || h.resolved || h.finding != f {
			p.upserts[k] = f
		}
	}
	for k, h := range have {
		if h.resolved {
			continue
		}
		before[k.noticeID] = true
		if _, ok := want[k]; !ok {
			p.resolves = append(p.resolves, k)
		}
	}
	p.added = onlyIn(after, before)
	p.resolved = onlyIn(before, after)
	return p
}

// onlyIn returns the sorted keys of a that are not in b.
func onlyIn(a, b map[string]bool) []string {
	var out []string
	for id := range a {
		if !b[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
