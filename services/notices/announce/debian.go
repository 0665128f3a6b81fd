package announce

import (
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"crawlspace.dev/services/platform/redact"

	"github.com/PuerkitoBio/goquery"

	"crawlspace.dev/services/notices/advisory"
)

// trackerURL is where a DSA read from a saved page points.
const trackerURL = "https://security-tracker.debian.org/tracker/"

var (
	dsaID = regexp.MustCompile(`Debian Security Advisory\s+(DSA-\d+(?:-\d+)?)`)
	// dsaFixed matches one release's sentence once whitespace is folded:
	// "For the oldstable distribution (buster), these problems have been
	// fixed in version 42.2.5-2+deb10u1."
	dsaFixed = regexp.MustCompile(`For the ([a-z]+(?: [a-z]+)?) distributions? \(([a-z]+)\),` +
		`[^.]*? fixed in version (\S+?)\.(?:\s|$)`)
	dsaDate = regexp.MustCompile(`(January|February|March|April|May|June|July|August|` +
		`September|October|November|December) \d{1,2}, \d{4}`)
	// dsaField is a header line such as "CVE ID         : CVE-2022-21724".
	dsaField    = regexp.MustCompile(`^([A-Za-z][A-Za-z ]*[A-Za-z])\s+:\s*(.*)$`)
	cveID       = regexp.MustCompile(`CVE-\d{4}-\d{4,}`)
	subjectTags = regexp.MustCompile(`^(\[[^\]]*\]\s*)+`)
)

// ParseDebian reads one debian-security-announce message page: an
// MHonArc page whose <pre> holds the DSA text ("Debian Security Advisory
// DSA-5196-1", the "Package :" and "CVE ID :" fields, and one "For the
// stable distribution (bullseye), ... fixed in version V." sentence per
// release). Each sentence is a fixed [advisory.Affected] entry of the
// "Package" source package; a DSA without one (an end-of-life notice) has
// none. ok is false for a message that is not a DSA.
func ParseDebian(page []byte, location string) (n advisory.Notice, ok bool, err error) {
	body, subject, doc, err := pre(page)
	if err != nil {
		return advisory.Notice{}, false, err
	}
	if !strings.Contains(body, "Debian Security Advisory") {
		return advisory.Notice{}, false, nil
	}
	m := dsaID.FindStringSubmatch(body)
	if m == nil {
		return advisory.Notice{}, false, errors.New("no DSA id after \"Debian Security Advisory\"")
	}
	n = advisory.Notice{ID: m[1], Source: SourceDebian, URL: trackerURL + m[1],
		Title: strings.TrimSpace(subjectTags.ReplaceAllString(subject, ""))}
	if redact.IsURL(location) {
		n.URL = location
	}
	fields := headerFields(body)
	n.Packages = strings.FieldsFunc(fields["package"], func(r rune) bool {
		return r == ',' || r == ' '
	})
	if len(n.Packages) == 0 {
		return n, false, errors.New("no \"Package :\" field")
	}
	n.CVEs = cveID.FindAllString(fields["cve id"], -1)
	n.Published = dsaPublished(body, doc)
	n.Affected = dsaAffected(body, n.Packages[0])
	return n, true, nil
}

// headerFields reads the "Name   : value" block of a DSA, keyed by the
// lowercased name, indented continuation lines joined with a space. It
// ends at the first blank line after a field.
func headerFields(body string) map[string]string {
	fields := map[string]string{}
	last := ""
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimSpace(line)
		m := dsaField.FindStringSubmatch(trimmed)
		switch {
		case trimmed == "" && last != "":
			return fields
		case m != nil:
			last = strings.ToLower(m[1])
			fields[last] = m[2]
		case last != "" && line != strings.TrimLeft(line, " \t"):
			fields[last] += " " + trimmed
		}
	}
	return fields
}

// dsaAffected returns one fixed entry per release sentence, the first
// sentence of a release winning.
func dsaAffected(body, pkg string) []advisory.Affected {
	folded := strings.Join(strings.Fields(body), " ")
	var out []advisory.Affected
	seen := map[string]bool{}
	for _, m := range dsaFixed.FindAllStringSubmatch(folded, -1) {
		if seen[m[2]] {
			continue
		}
		seen[m[2]] = true
		out = append(out, advisory.Affected{Ecosystem: advisory.EcosystemDpkg, Release: m[2],
			Package: pkg, Status: advisory.StatusFixed, FixedVersion: m[3]})
	}
	return out
}

// dsaPublished reads the DSA's own date line ("July 31, 2022"), else the
// message's Date header as MHonArc lists it, else returns the zero time.
func dsaPublished(body string, doc *goquery.Document) time.Time {
	head := body[:min(len(body), 800)]
	if d := dsaDate.FindString(head); d != "" {
		if t, err := time.Parse("January 2, 2006", d); err == nil {
			return t.UTC()
		}
	}
	var published time.Time
	doc.Find("li").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if strings.TrimSpace(s.Find("em").First().Text()) != "Date" {
			return true
		}
		_, date, _ := strings.Cut(s.Text(), ":")
		if t, err := mail.ParseDate(strings.TrimSpace(date)); err == nil {
			published = t.UTC()
		}
		return false
	})
	return published
}
