package debian

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"crawlspace.dev/services/notices/advisory"
)

// SourceTracker is the source name of the security tracker's JSON.
const SourceTracker = "debian-tracker"

// trackerRelease is one release's entry under a CVE in the tracker JSON.
type trackerRelease struct {
	Status       string `json:"status"`
	FixedVersion string `json:"fixed_version"`
	Urgency      string `json:"urgency"`
	NoDSA        string `json:"nodsa"`
	NoDSAReason  string `json:"nodsa_reason"`
}

// trackerCVE is one CVE of one source package. Releases is a map, except
// that the tracker writes an empty one as [].
type trackerCVE struct {
	Description string          `json:"description"`
	Releases    json.RawMessage `json:"releases"`
}

// ParseTracker reads the security tracker's JSON
// ({source: {CVE: {releases: {suite: {status, fixed_version, ...}}}}})
// into one notice per CVE, "DEBIAN-CVE-2023-1234", with a row per
// (release, source package). Statuses are mapped by trackerStatus; the
// notice's severity is the highest urgency of its rows.
func ParseTracker(data []byte, name string) (advisory.Feed, error) {
	var doc map[string]map[string]trackerCVE
	if err := json.Unmarshal(data, &doc); err != nil {
		return advisory.Feed{}, fmt.Errorf("decode tracker json %s: %w", name, err)
	}
	var f advisory.Feed
	byCVE := map[string]*advisory.Notice{}
	for _, src := range sortedKeys(doc) {
		for _, cve := range sortedKeys(doc[src]) {
			e := doc[src][cve]
			n := byCVE[cve]
			if n == nil {
				n = &advisory.Notice{ID: "DEBIAN-" + cve, Source: SourceTracker,
					Title: firstLine(e.Description), URL: TrackerURL + cve}
				if isCVE(cve) {
					n.CVEs = []string{cve}
				}
				byCVE[cve] = n
			}
			if err := addReleases(n, src, e.Releases); err != nil {
				f.Skip(name, src+"/"+cve, n.ID, err)
			}
		}
	}
	for _, cve := range sortedKeys(byCVE) {
		f.Add(name, cve, *byCVE[cve])
	}
	return f, nil
}

func addReleases(n *advisory.Notice, src string, raw json.RawMessage) error {
	var rels map[string]trackerRelease
	if len(raw) > 0 && raw[0] == '[' {
		return nil // an empty list: no release information
	}
	if err := json.Unmarshal(raw, &rels); err != nil {
		return fmt.Errorf("decode releases of %s: %w", src, err)
	}
	for _, suite := range sortedKeys(rels) {
		r := rels[suite]
		st, fixed := trackerStatus(r)
		n.Affected = append(n.Affected, advisory.Affected{Ecosystem: advisory.EcosystemDpkg,
			Release: suite, Package: src, Status: st, FixedVersion: fixed})
		if urgencyRank(r.Urgency) > urgencyRank(n.Severity) {
			n.Severity = r.Urgency
		}
	}
	return nil
}

// trackerStatus maps one release entry of the tracker JSON to a status
// and fixed version:
//
//   - resolved with fixed_version "0": not-affected
//   - resolved with a version: fixed in it
//   - open with nodsa_reason "ignored": will-not-fix
//   - open with nodsa_reason "postponed", or a nodsa note alone: deferred
//   - open otherwise: unfixed
//   - undetermined, or anything else: undetermined
func trackerStatus(r trackerRelease) (advisory.Status, string) {
	switch r.Status {
	case "resolved":
		switch r.FixedVersion {
		case "0":
			return advisory.StatusNotAffected, ""
		case "":
			return advisory.StatusUndetermined, ""
		}
		return advisory.StatusFixed, r.FixedVersion
	case "open":
		switch {
		case r.NoDSAReason == "ignored":
			return advisory.StatusWillNotFix, ""
		case r.NoDSAReason == "postponed" || r.NoDSA != "":
			return advisory.StatusDeferred, ""
		}
		return advisory.StatusUnfixed, ""
	}
	return advisory.StatusUndetermined, ""
}

// urgencyRank orders the tracker's urgencies; "**" marks one that was
// not assessed for the package itself and ranks the same.
func urgencyRank(u string) int {
	switch strings.TrimRight(u, "*") {
	case "unimportant":
		return 1
	case "low":
		return 2
	case "medium":
		return 3
	case "high":
		return 4
	case "not yet assigned":
		return 0
	}
	if u == "" {
		return -1
	}
	return 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ToValidUTF8(s, "")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ParseList reads a whole DSA or DLA list held in data.
func ParseList(data []byte, name string) (advisory.Feed, error) {
	notices, skipped, stats, err := ParseAll(bytes.NewReader(data), name)
	if err != nil {
		return advisory.Feed{}, err
	}
	f := advisory.Feed{Notices: notices, Undetermined: stats.Undetermined}
	for _, re := range skipped {
		f.Malformed = append(f.Malformed, &advisory.RecordError{Name: re.Name,
			Pos: fmt.Sprintf("line %d", re.Line), ID: re.ID, Err: re.Err})
	}
	return f, nil
}
