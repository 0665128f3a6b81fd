package matcher

import (
	"fmt"
	"slices"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/matcher/version/dpkg"
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

// ecosystemDpkg is the only ecosystem matched so far.
//
// TODO(crawlspace): match rpm and apk packages once the crawler stores them
// and version/rpm and version/apk exist.
const ecosystemDpkg = "dpkg"

// candidate is one installed binary package joined with one affected row
// naming its source package in the image's release.
type candidate struct {
	pkg           string
	sourceName    string
	sourceVersion string
	noticeID      string
	fixedVersion  string
	status        string
}

// key identifies a finding within one image.
type key struct {
	pkg      string
	noticeID string
}

// finding is one row of the findings table, less the image and times.
type finding struct {
	sourceName       string
	installedVersion string
	fixedVersion     string
	release          string
	status           string
}

// decide reports whether c makes the image vulnerable. Fixed notices
// count when the installed source version sorts before the fix; unfixed,
// will-not-fix, deferred and end-of-life ones count whatever the version.
func decide(c candidate, release string) (finding, bool, error) {
	f := finding{
		sourceName:       c.sourceName,
		installedVersion: c.sourceVersion,
		release:          release,
		status:           c.status,
	}
	switch c.status {
	case statusFixed:
		if c.fixedVersion == "" {
			return finding{}, false, fmt.Errorf("notice %s fixes %s without a version",
				c.noticeID, c.sourceName)
		}
		cmp, err := dpkg.Compare(c.sourceVersion, c.fixedVersion)
		if err != nil {
			return finding{}, false, fmt.Errorf("compare %s with notice %s: %w",
				c.pkg, c.noticeID, err)
		}
		f.fixedVersion = c.fixedVersion
		return f, cmp < 0, nil
	case statusUnfixed, statusWillNotFix, statusDeferred, statusEndOfLife:
		return f, true, nil
	case statusNotAffected, statusUndetermined:
		return finding{}, false, nil
	default:
		return finding{}, false, fmt.Errorf("notice %s has unknown status %q",
			c.noticeID, c.status)
	}
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

// result is what one match did.
type result struct {
	open     int
	added    []string
	resolved []string
	changed  bool
}

// event returns the image.matched event for the image with digest d. The
// caller sets Ref and RunId when it knows them.
func (r result) event(d string) *crawlspacev1.ImageMatched {
	return &crawlspacev1.ImageMatched{
		Digest:   d,
		Findings: int32(r.open),
		Added:    r.added,
		Resolved: r.resolved,
	}
}
