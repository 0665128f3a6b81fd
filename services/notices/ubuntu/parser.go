// Package ubuntu parses Ubuntu's security notices: USNs and UBUNTU-CVE
// records in OSV form (the ubuntu-security-notices repository), and the
// usn-db database JSON that maps each USN to the source package versions
// that fix it per release. Releases are codenames ("jammy"), mapped from
// OSV's "Ubuntu:22.04:LTS" with [distro.UbuntuCodename].
package ubuntu

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/osv"
	"crawlspace.dev/services/platform/distro"
)

// Sources of the Ubuntu feeds.
const (
	SourceUSN = "ubuntu-usn"
	SourceCVE = "ubuntu-cve"
)

// NoticeURL is where a person reads a USN.
const NoticeURL = "https://ubuntu.com/security/notices/"

// Mapper files an OSV "Ubuntu:22.04:LTS" or "Ubuntu:25.10" package under
// dpkg and the release's codename; the package name is the source package.
// TODO(crawlspace): match Ubuntu Pro (ESM) fixes; "Ubuntu:Pro:..." entries
// are skipped because images without a Pro subscription cannot install
// them, and counting them fixed would hide open findings.
func Mapper(ecosystem, name string) (osv.Target, bool) {
	parts := strings.Split(ecosystem, ":")
	if len(parts) < 2 || parts[0] != "Ubuntu" || parts[1] == "Pro" || name == "" {
		return osv.Target{}, false
	}
	codename := distro.UbuntuCodename(parts[1])
	if codename == "" {
		return osv.Target{}, false
	}
	return osv.Target{Ecosystem: distro.Dpkg, Release: codename, Package: name}, true
}

// ParseOSV reads one USN or UBUNTU-CVE record in OSV form.
func ParseOSV(data []byte, name, source string) advisory.Feed {
	f := osv.Parse(data, name, source, Mapper)
	for i := range f.Notices {
		if strings.HasPrefix(f.Notices[i].ID, "USN-") {
			f.Notices[i].URL = NoticeURL + f.Notices[i].ID
		}
	}
	return f
}

// usnEntry is one value of the usn-db database JSON map.
type usnEntry struct {
	ID        string                `json:"id"`
	Title     string                `json:"title"`
	Summary   string                `json:"summary"`
	CVEs      []string              `json:"cves"`
	Timestamp float64               `json:"timestamp"`
	Releases  map[string]usnRelease `json:"releases"`
}

type usnRelease struct {
	Sources map[string]struct {
		Version string `json:"version"`
	} `json:"sources"`
	Binaries map[string]struct {
		Version string `json:"version"`
	} `json:"binaries"`
}

// ParseDatabase reads the usn-db database JSON, a map from "763-1" to the
// notice: each release's sources are fixed in the version given.
func ParseDatabase(data []byte, name string) (advisory.Feed, error) {
	var db map[string]json.RawMessage
	if err := json.Unmarshal(data, &db); err != nil {
		return advisory.Feed{}, fmt.Errorf("decode usn database %s: %w", name, err)
	}
	var f advisory.Feed
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range db {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		var e usnEntry
		if err := json.Unmarshal(db[k], &e); err != nil {
			f.Skip(name, k, "USN-"+k, err)
			continue
		}
		f.Add(name, k, usnNotice(k, e))
	}
	return f, nil
}

func usnNotice(key string, e usnEntry) advisory.Notice {
	n := advisory.Notice{
		ID: "USN-" + key, Source: SourceUSN, Title: e.Title, CVEs: e.CVEs,
		URL: NoticeURL + "USN-" + key,
	}
	if e.Timestamp > 0 {
		n.Published = time.Unix(int64(e.Timestamp), 0).UTC()
	}
	for rel, r := range e.Releases {
		for src, v := range r.Sources {
			a := advisory.Affected{Ecosystem: distro.Dpkg, Release: rel, Package: src,
				Status: advisory.StatusFixed, FixedVersion: v.Version}
			if v.Version == "" {
				a.Status = advisory.StatusUndetermined
			}
			n.Affected = append(n.Affected, a)
		}
		for bin := range r.Binaries {
			n.Packages = append(n.Packages, bin)
		}
	}
	slices.Sort(n.Packages)
	n.Packages = slices.Compact(n.Packages)
	return n
}
