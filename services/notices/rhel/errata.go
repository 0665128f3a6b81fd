package rhel

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/platform/distro"
)

// almaErratum is one entry of errata.almalinux.org's errata.json.
type almaErratum struct {
	ID       string `json:"updateinfo_id"`
	Title    string `json:"title"`
	Type     string `json:"type"`
	Severity string `json:"severity"`
	Issued   struct {
		Date int64 `json:"$date"`
	} `json:"issued_date"`
	PkgList struct {
		Name     string `json:"name"`
		Packages []struct {
			Epoch string `json:"epoch"`
			Src   string `json:"src"`
		} `json:"packages"`
	} `json:"pkglist"`
	References []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"references"`
}

// ParseAlmaErrata reads AlmaLinux's errata.json, an array of updateinfo
// records: each source rpm its packages come from is fixed in that
// version, with the epoch the binaries carry when it is not 0.
func ParseAlmaErrata(data []byte, name string) (advisory.Feed, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return advisory.Feed{}, fmt.Errorf("decode alma errata %s: %w", name, err)
	}
	var f advisory.Feed
	for i, r := range raw {
		pos := fmt.Sprintf("[%d]", i)
		var e almaErratum
		if err := json.Unmarshal(r, &e); err != nil {
			f.Skip(name, pos, "", err)
			continue
		}
		if e.ID == "" {
			f.Skip(name, pos, "", fmt.Errorf("erratum has no updateinfo_id"))
			continue
		}
		f.Add(name, pos, almaNotice(e))
	}
	return f, nil
}

func almaNotice(e almaErratum) advisory.Notice {
	n := advisory.Notice{ID: e.ID, Source: SourceAlma, Title: e.Title,
		Severity: strings.ToLower(e.Severity), URL: errataURL(SourceAlma, e.ID)}
	if e.Issued.Date > 0 {
		n.Published = time.UnixMilli(e.Issued.Date).UTC()
	}
	for _, r := range e.References {
		if strings.HasPrefix(r.ID, "CVE-") {
			n.CVEs = append(n.CVEs, r.ID)
		}
	}
	seen := map[string]bool{}
	for _, p := range e.PkgList.Packages {
		pkg, version, ok := SplitSRPM(p.Src)
		if !ok || seen[pkg] {
			// TODO(crawlspace): keep every module stream's fix of a source
			// rpm named twice (virt:rhel ships libiscsi for 8.3 and 8.4);
			// today the first listed is kept.
			continue
		}
		seen[pkg] = true
		if p.Epoch != "" && p.Epoch != "0" {
			version = p.Epoch + ":" + version
		}
		rel := elRelease(version)
		if rel == "" {
			rel = elFromRepo(e.PkgList.Name)
		}
		n.Affected = append(n.Affected, advisory.Affected{Ecosystem: distro.RPM,
			Release: rel, Package: pkg, Status: advisory.StatusFixed, FixedVersion: version})
	}
	return n
}

// elFromRepo reads "el8" from a repository name such as
// "almalinux-8-for-x86_64-appstream-rpms".
func elFromRepo(repo string) string {
	for _, part := range strings.Split(repo, "-") {
		if digits(part) {
			return "el" + part
		}
	}
	return ""
}
