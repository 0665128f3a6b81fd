package osv

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"crawlspace.dev/services/notices/advisory"
)

// Target is where a [Mapper] files one affected package: the ecosystem
// and release of the affected row and the package name it carries.
type Target struct {
	Ecosystem, Release, Package string
}

// Mapper names the affected row for an OSV package ecosystem and name. It
// returns false for packages crawlspace does not match, which are left
// out and counted in [advisory.Feed.Skipped].
type Mapper func(ecosystem, name string) (Target, bool)

// Notice converts r to a notice of source, mapping its packages with m. It
// returns the notice and how many affected entries m left out. Entries
// that name the same row are merged, their ranges joined. A withdrawn
// record keeps its notice but loses every affected row, so that the
// matcher resolves what it found.
func Notice(r Record, source string, m Mapper) (advisory.Notice, int, error) {
	n := advisory.Notice{
		ID:        r.ID,
		Source:    source,
		Title:     title(r),
		Published: r.PublishedTime(),
		Severity:  severity(r),
		CVEs:      cves(r),
		URL:       "https://osv.dev/vulnerability/" + r.ID,
	}
	if r.Withdrawn != "" {
		return n, 0, nil
	}
	rows, skipped := group(r, m)
	for _, t := range rows.order {
		a, err := affected(t, rows.ranges[t])
		if err != nil {
			return n, skipped, fmt.Errorf("%s %s: %w", t.Release, t.Package, err)
		}
		n.Affected = append(n.Affected, a)
	}
	for _, a := range r.Affected {
		for _, b := range a.EcosystemSpecific.Binaries {
			n.Packages = append(n.Packages, b.Name)
		}
	}
	return n, skipped, nil
}

// grouped holds affected entries merged by row, in first-seen order.
type grouped struct {
	order  []Target
	ranges map[Target][]Range
}

func group(r Record, m Mapper) (grouped, int) {
	g := grouped{ranges: make(map[Target][]Range)}
	skipped := 0
	for _, a := range r.Affected {
		t, ok := m(a.Package.Ecosystem, a.Package.Name)
		if !ok {
			skipped++
			continue
		}
		if _, seen := g.ranges[t]; !seen {
			g.order = append(g.order, t)
		}
		g.ranges[t] = append(g.ranges[t], a.Ranges...)
	}
	return g, skipped
}

// affected builds one row: fixed with the version when exactly one fixed
// event exists, fixed with ranges only when several do, and unfixed when
// none does.
func affected(t Target, ranges []Range) (advisory.Affected, error) {
	if ranges == nil {
		ranges = []Range{}
	}
	raw, err := json.Marshal(ranges)
	if err != nil {
		return advisory.Affected{}, fmt.Errorf("encode ranges: %w", err)
	}
	a := advisory.Affected{Ecosystem: t.Ecosystem, Release: t.Release, Package: t.Package,
		Status: advisory.StatusUnfixed, Ranges: raw}
	var fixed []string
	for _, rg := range ranges {
		if rg.Type == "GIT" {
			continue
		}
		for _, e := range rg.Events {
			if e.Fixed != "" {
				fixed = append(fixed, e.Fixed)
			}
		}
	}
	switch fixed = dedupe(fixed); len(fixed) {
	case 0:
	case 1:
		a.Status, a.FixedVersion = advisory.StatusFixed, fixed[0]
	default:
		a.Status = advisory.StatusFixed
	}
	return a, nil
}

func dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// title is the summary, or else the first line of the details, clipped.
func title(r Record) string {
	t := r.Summary
	if t == "" {
		t, _, _ = strings.Cut(strings.TrimSpace(r.Details), "\n")
	}
	if len(t) > 200 {
		t = t[:200]
	}
	return strings.ToValidUTF8(t, "")
}

// severity prefers a word (Ubuntu's priority, GHSA's level) to a vector.
func severity(r Record) string {
	for _, s := range r.Severity {
		if s.Type == "Ubuntu" {
			return s.Score
		}
	}
	if s := r.DatabaseSpecific.Severity; s != "" {
		return strings.ToLower(s)
	}
	if len(r.Severity) > 0 {
		return r.Severity[0].Score
	}
	return ""
}

// cves collects the CVE ids among the record's id, aliases and upstream.
func cves(r Record) []string {
	var out []string
	for _, id := range slices.Concat([]string{r.ID}, r.Aliases, r.Upstream) {
		id = strings.TrimPrefix(id, "UBUNTU-")
		if strings.HasPrefix(id, "CVE-") {
			out = append(out, id)
		}
	}
	return out
}
