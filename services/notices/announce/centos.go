package announce

import (
	"errors"
	"regexp"
	"strings"
	"time"

	"crawlspace.dev/services/platform/redact"

	"github.com/PuerkitoBio/goquery"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/rhel"
	"crawlspace.dev/services/platform/distro"
)

var (
	// cesaHead is "CentOS Errata and Security Advisory 2018:2881 Critical";
	// Bugfix and Enhancement advisories (CEBA, CEEA) say another word.
	cesaHead = regexp.MustCompile(
		`CentOS Errata and Security Advisory\s+(\d{4}:\d{4,})\s*(\w*)`)
	centosRel  = regexp.MustCompile(`CentOS (?:Linux )?(\d+)\b`)
	elInRPM    = regexp.MustCompile(`\.el(\d+)`)
	archHeader = regexp.MustCompile(`^[A-Za-z0-9_]+:$`)
)

// pipermailDate is the sender line's date with its spaces folded, as in
// "Tue Oct 9 13:32:55 UTC 2018".
const pipermailDate = "Mon Jan 2 15:04:05 MST 2006"

// ParseCentOS reads one centos-announce message page: a pipermail page
// whose <pre> holds "CentOS Errata and Security Advisory 2018:2881
// Critical", the upstream RHSA link, and per-architecture lists of
// "<sha256> <file>.rpm" lines. Each source rpm under "Source:" is fixed in
// its version-release (with the epoch when the file name gives one) in the
// release the subject names ("CentOS 7" is el7), else the one its
// ".elN" release tag names. ok is false for a message that is not a CESA.
func ParseCentOS(page []byte, location string) (n advisory.Notice, ok bool, err error) {
	body, subject, doc, err := pre(page)
	if err != nil {
		return advisory.Notice{}, false, err
	}
	m := cesaHead.FindStringSubmatch(body)
	if m == nil {
		return advisory.Notice{}, false, nil
	}
	n = advisory.Notice{ID: "CESA-" + m[1], Source: SourceCentOS,
		Severity: strings.ToLower(m[2]), Title: cesaTitle(subject, m[1])}
	if redact.IsURL(location) {
		n.URL = location
	}
	n.Published = centosPublished(doc)
	srpms := sourceRPMs(body)
	if len(srpms) == 0 {
		return n, false, errors.New("no source rpm under \"Source:\"")
	}
	release := ""
	if r := centosRel.FindStringSubmatch(subject); r != nil {
		release = "el" + r[1]
	}
	for _, file := range srpms {
		pkg, version, ok := rhel.SplitSRPM(file)
		if !ok {
			return n, false, errors.New("source rpm " + file + " has no version-release")
		}
		rel := release
		if r := elInRPM.FindStringSubmatch(version); rel == "" && r != nil {
			rel = "el" + r[1]
		}
		if rel == "" {
			return n, false, errors.New("no CentOS release in the subject or " + file)
		}
		n.Packages = append(n.Packages, pkg)
		n.Affected = append(n.Affected, advisory.Affected{Ecosystem: distro.RPM,
			Release: rel, Package: pkg, Status: advisory.StatusFixed, FixedVersion: version})
	}
	return n, true, nil
}

// cesaTitle strips the list tag and the id from the subject, leaving
// "Critical CentOS 6 firefox Security Update".
func cesaTitle(subject, id string) string {
	s := strings.TrimSpace(subjectTags.ReplaceAllString(subject, ""))
	return strings.TrimSpace(strings.TrimPrefix(s, "CESA-"+id))
}

// sourceRPMs returns the file names listed under "Source:", up to the
// next architecture header or blank line.
func sourceRPMs(body string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "Source:":
			in = true
		case !in:
		case line == "" || archHeader.MatchString(line):
			if len(out) > 0 || line != "" {
				in = false
			}
		default:
			f := strings.Fields(line)
			if file := f[len(f)-1]; strings.HasSuffix(file, ".src.rpm") {
				out = append(out, file)
			}
		}
	}
	return out
}

// centosPublished reads the date pipermail prints under the sender, in
// the page's first <i>, or returns the zero time.
func centosPublished(doc *goquery.Document) time.Time {
	s := strings.Join(strings.Fields(doc.Find("i").First().Text()), " ")
	t, err := time.Parse(pipermailDate, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
