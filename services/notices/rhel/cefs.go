package rhel

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/platform/distro"
)

// cefsErratum is one element of CEFS's errata.latest.xml, named for the
// advisory: <CESA-2018--2881 severity=... issue_date=...>.
type cefsErratum struct {
	XMLName   xml.Name
	Synopsis  string   `xml:"synopsis,attr"`
	Severity  string   `xml:"severity,attr"`
	Type      string   `xml:"type,attr"`
	IssueDate string   `xml:"issue_date,attr"`
	Refs      string   `xml:"references,attr"`
	Releases  []string `xml:"os_release"`
	Packages  []string `xml:"packages"`
}

// ParseCEFS reads the CEFS errata XML: under <opt>, one element per
// advisory whose name is the id with "--" for ":". Each .src.rpm listed is
// fixed in its version, for every os_release given.
func ParseCEFS(data []byte, name string) (advisory.Feed, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var f advisory.Feed
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			line, _ := d.InputPos()
			return f, fmt.Errorf("decode cefs %s line %d: %w", name, line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				depth++
				continue
			}
			var e cefsErratum
			line, _ := d.InputPos()
			if err := d.DecodeElement(&e, &t); err != nil {
				return f, fmt.Errorf("decode cefs %s line %d: %w", name, line, err)
			}
			cefsAdd(&f, name, fmt.Sprintf("line %d", line), e)
		case xml.EndElement:
			depth--
		}
	}
}

func cefsAdd(f *advisory.Feed, name, pos string, e cefsErratum) {
	id := strings.Replace(e.XMLName.Local, "--", ":", 1)
	if !strings.Contains(id, ":") {
		f.Skip(name, pos, id, fmt.Errorf("element %q is not an advisory id", e.XMLName.Local))
		return
	}
	n := advisory.Notice{ID: id, Source: SourceCEFS, Title: e.Synopsis,
		Severity: strings.ToLower(e.Severity)}
	if t, err := time.Parse(time.DateTime, e.IssueDate); err == nil {
		n.Published = t.UTC()
	}
	for _, ref := range strings.Fields(e.Refs) {
		if strings.Contains(ref, "lists.centos.org") {
			n.URL = ref
		}
	}
	for _, rel := range e.Releases {
		for _, p := range e.Packages {
			pkg, version, ok := SplitSRPM(strings.TrimSpace(p))
			if !ok || !strings.HasSuffix(p, ".src.rpm") {
				continue
			}
			n.Affected = append(n.Affected, advisory.Affected{Ecosystem: distro.RPM,
				Release: "el" + strings.TrimSpace(rel), Package: pkg,
				Status: advisory.StatusFixed, FixedVersion: version})
		}
	}
	f.Add(name, pos, n)
}
