package rhel

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/platform/distro"
)

// csafDoc is the part of a CSAF 2.0 advisory crawlspace reads.
type csafDoc struct {
	Document struct {
		Title             string `json:"title"`
		AggregateSeverity struct {
			Text string `json:"text"`
		} `json:"aggregate_severity"`
		Tracking struct {
			ID      string `json:"id"`
			Initial string `json:"initial_release_date"`
		} `json:"tracking"`
	} `json:"document"`
	Vulnerabilities []csafVuln `json:"vulnerabilities"`
}

type csafVuln struct {
	CVE           string              `json:"cve"`
	ProductStatus map[string][]string `json:"product_status"`
	Remediations  []struct {
		Category   string   `json:"category"`
		Details    string   `json:"details"`
		ProductIDs []string `json:"product_ids"`
	} `json:"remediations"`
}

// ParseCSAF reads one Red Hat CSAF 2.0 advisory. Each product id of the
// form "AppStream-9.4.0.Z.MAIN.EUS:python3.9-0:3.9.18-3.el9_4.5.src" names
// a source rpm (name-epoch:version-release.src) in a release; its status
// comes from the product_status list holding it and, for known_affected,
// from the remediation naming it.
func ParseCSAF(data []byte, name string) (advisory.Feed, error) {
	var doc csafDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return advisory.Feed{}, fmt.Errorf("decode csaf %s: %w", name, err)
	}
	var f advisory.Feed
	id := doc.Document.Tracking.ID
	if id == "" {
		f.Skip(name, "document.tracking", "", fmt.Errorf("advisory has no tracking id"))
		return f, nil
	}
	n := advisory.Notice{ID: id, Source: SourceCSAF, Title: doc.Document.Title,
		Severity: strings.ToLower(doc.Document.AggregateSeverity.Text),
		URL:      "https://access.redhat.com/errata/" + id}
	if t, err := time.Parse(time.RFC3339, doc.Document.Tracking.Initial); err == nil {
		n.Published = t.UTC()
	}
	rows := map[[2]string]int{}
	for _, v := range doc.Vulnerabilities {
		if v.CVE != "" {
			n.CVEs = append(n.CVEs, v.CVE)
		}
		for _, a := range csafAffected(v) {
			k := [2]string{a.Release, a.Package}
			if i, ok := rows[k]; ok {
				n.Affected[i] = worse(n.Affected[i], a)
				continue
			}
			rows[k] = len(n.Affected)
			n.Affected = append(n.Affected, a)
		}
	}
	f.Add(name, "document", n)
	return f, nil
}

// csafStatuses maps CSAF product_status lists to statuses; known_affected
// is refined by remediations.
var csafStatuses = map[string]advisory.Status{
	"fixed":               advisory.StatusFixed,
	"first_fixed":         advisory.StatusFixed,
	"known_not_affected":  advisory.StatusNotAffected,
	"known_affected":      advisory.StatusUnfixed,
	"first_affected":      advisory.StatusUnfixed,
	"last_affected":       advisory.StatusUnfixed,
	"under_investigation": advisory.StatusUndetermined,
	"recommended":         advisory.StatusFixed,
}

func csafAffected(v csafVuln) []advisory.Affected {
	remedy := map[string]string{}
	for _, r := range v.Remediations {
		for _, p := range r.ProductIDs {
			remedy[p] = r.Category + "|" + r.Details
		}
	}
	var out []advisory.Affected
	for list, ids := range v.ProductStatus {
		st, ok := csafStatuses[list]
		if !ok {
			st = advisory.StatusUndetermined
		}
		for _, pid := range ids {
			a, ok := csafProduct(pid)
			if !ok {
				continue
			}
			a.Status = st
			if st == advisory.StatusUnfixed {
				a.Status = remediationStatus(remedy[pid])
			}
			if a.Status != advisory.StatusFixed {
				a.FixedVersion = ""
			}
			out = append(out, a)
		}
	}
	return out
}

// remediationStatus maps Red Hat's remediation for an affected product.
func remediationStatus(r string) advisory.Status {
	category, details, _ := strings.Cut(r, "|")
	switch {
	case category == "no_fix_planned" || strings.EqualFold(details, "Will not fix"):
		return advisory.StatusWillNotFix
	case strings.EqualFold(details, "Out of support scope"):
		return advisory.StatusEndOfLife
	case strings.EqualFold(details, "Deferred") || strings.EqualFold(details, "Fix deferred"):
		return advisory.StatusDeferred
	}
	return advisory.StatusUnfixed
}

// csafProduct reads a source rpm product id; binary rpms and products
// that are not rpms return false.
func csafProduct(pid string) (advisory.Affected, bool) {
	product, nevra, ok := strings.Cut(pid, ":")
	if !ok || !strings.HasSuffix(nevra, ".src") {
		return advisory.Affected{}, false
	}
	nevr := strings.TrimSuffix(nevra, ".src")
	i := strings.IndexByte(nevr, ':')
	if i < 0 {
		return advisory.Affected{}, false
	}
	j := strings.LastIndexByte(nevr[:i], '-')
	if j <= 0 {
		return advisory.Affected{}, false
	}
	pkg, epoch, version := nevr[:j], nevr[j+1:i], nevr[i+1:]
	rel := elRelease(version)
	if rel == "" {
		rel = elFromProduct(product)
	}
	return advisory.Affected{Ecosystem: distro.RPM, Release: rel, Package: pkg,
		FixedVersion: epoch + ":" + version}, rel != ""
}

// elFromProduct reads "el9" from "AppStream-9.4.0.Z.MAIN.EUS".
func elFromProduct(p string) string {
	_, ver, ok := strings.Cut(p, "-")
	major, _, _ := strings.Cut(ver, ".")
	if !ok || !digits(major) {
		return ""
	}
	return "el" + major
}

// worse keeps, of two rows for one package, the one still vulnerable; of
// two fixes, the first.
func worse(a, b advisory.Affected) advisory.Affected {
	if a.Status == advisory.StatusFixed && b.Status != advisory.StatusFixed {
		return b
	}
	return a
}
