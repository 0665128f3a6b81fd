// Package announce reads security announcements from mailing-list archive
// pages, the way the 2018 study read them: the debian-security-announce
// archive (MHonArc index and message pages on lists.debian.org) and the
// centos-announce archive (Mailman pipermail pages on lists.centos.org).
// An [Archive] follows an index page to the message pages it links to,
// fetched through a [Getter], and parses each message's <pre> body with
// goquery into an [advisory.Notice].
package announce

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"crawlspace.dev/services/platform/redact"

	"github.com/PuerkitoBio/goquery"

	"crawlspace.dev/services/notices/advisory"
)

// Source names, as [advisory.Notice.Source] and `notices sync --source`
// give them.
const (
	SourceDebian = "debian-announce"
	SourceCentOS = "centos-announce"
)

// maxPages bounds how many index pages one [Archive.Read] follows.
const maxPages = 64

// Getter fetches one archive page, a URL or a file path, whole.
type Getter interface {
	Get(ctx context.Context, location string) ([]byte, error)
}

// parseFunc reads one message page. ok is false for a message that is not
// a security advisory, such as a bugfix announcement.
type parseFunc func(page []byte, location string) (n advisory.Notice, ok bool, err error)

// Archive is one list archive's layout: which links of an index page are
// messages and which are further index pages, and how a message reads.
// Its zero value is not usable; use [Debian] or [CentOS].
type Archive struct {
	// Source is the notices' source name.
	Source string
	// IndexName is the index page a directory of saved pages is read
	// through, such as "threads.html".
	IndexName string

	message *regexp.Regexp
	page    *regexp.Regexp
	parse   parseFunc
}

// Debian is the debian-security-announce archive: one directory per year
// (lists.debian.org/debian-security-announce/2022/) whose MHonArc index
// pages (threads.html, thrd2.html, ..., maillist.html, mail2.html, ...)
// link to msgNNNNN.html message pages.
var Debian = &Archive{
	Source:    SourceDebian,
	IndexName: "threads.html",
	message:   regexp.MustCompile(`^msg\d{5}\.html$`),
	page:      regexp.MustCompile(`^(threads|thrd\d+|maillist|mail\d+)\.html$`),
	parse:     ParseDebian,
}

// CentOS is the centos-announce archive: one directory per month
// (lists.centos.org/pipermail/centos-announce/2018-October/) whose
// pipermail index pages (thread.html, date.html, subject.html,
// author.html) link to NNNNNN.html message pages.
var CentOS = &Archive{
	Source:    SourceCentOS,
	IndexName: "thread.html",
	message:   regexp.MustCompile(`^\d{6}\.html$`),
	page:      regexp.MustCompile(`^(thread|date)\.html$`),
	parse:     ParseCentOS,
}

// Read parses the index page at location, whose body is index, follows
// its links to the archive's other index pages and to every message page,
// fetches those through g, and returns their notices. Messages that share
// an id (CentOS announces one CESA per release) are merged into one
// notice. A malformed message is recorded in the feed under its location
// and skipped; a page that cannot be fetched is an error. Locations are
// named without userinfo or query.
func (a *Archive) Read(ctx context.Context, g Getter, index []byte, location string) (
	advisory.Feed, error) {
	messages, err := a.crawl(ctx, g, index, location)
	if err != nil {
		return advisory.Feed{}, err
	}
	var f advisory.Feed
	m := merger{byID: map[string]int{}}
	for _, loc := range messages {
		page, err := g.Get(ctx, loc)
		if err != nil {
			return advisory.Feed{}, fmt.Errorf("fetch message %s: %w", redact.URL(loc), err)
		}
		n, ok, err := a.parse(page, redact.URL(loc))
		if err != nil {
			f.Skip(redact.URL(loc), "message", n.ID, err)
			continue
		}
		if ok {
			m.add(n, redact.URL(loc))
		}
	}
	for i, n := range m.notices {
		f.Add(m.names[i], "message", n)
	}
	return f, nil
}

// crawl returns the message pages that the index at location and the
// index pages it links to name, in the order first linked.
func (a *Archive) crawl(ctx context.Context, g Getter, index []byte, location string) (
	[]string, error) {
	seen := map[string]bool{location: true}
	var messages []string
	queue := []string{location}
	for pages := 0; len(queue) > 0 && pages < maxPages; pages++ {
		loc := queue[0]
		queue = queue[1:]
		body := index
		if pages > 0 {
			var err error
			if body, err = g.Get(ctx, loc); err != nil {
				return nil, fmt.Errorf("fetch index %s: %w", redact.URL(loc), err)
			}
		}
		msgs, more, err := a.links(body, loc)
		if err != nil {
			return nil, err
		}
		for _, l := range append(msgs, more...) {
			if seen[l] {
				continue
			}
			seen[l] = true
			if a.message.MatchString(base(l)) {
				messages = append(messages, l)
			} else {
				queue = append(queue, l)
			}
		}
	}
	return messages, nil
}

// links returns the message pages and the index pages that one index
// page links to, resolved against its location. Only bare file names in
// the archive's own shapes are followed, so that no link leaves the
// archive directory.
func (a *Archive) links(body []byte, location string) (messages, pages []string, err error) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("parse index %s: %w", redact.URL(location), err)
	}
	doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("href")
		name, _, _ := strings.Cut(strings.TrimSpace(href), "#")
		switch {
		case a.message.MatchString(name):
			messages = append(messages, resolve(location, name))
		case a.page.MatchString(name):
			pages = append(pages, resolve(location, name))
		}
	})
	return messages, pages, nil
}

// resolve names the page called name in location's directory.
func resolve(location, name string) string {
	if !redact.IsURL(location) {
		return filepath.Join(filepath.Dir(location), name)
	}
	u, err := url.Parse(location)
	if err != nil {
		return name
	}
	return u.ResolveReference(&url.URL{Path: name}).String()
}

// base is the last element of a URL or file path.
func base(location string) string {
	return location[strings.LastIndexAny(location, `/\`)+1:]
}

// merger joins notices that share an id, keeping the first one's fields
// and the union of their CVEs and affected entries.
type merger struct {
	byID    map[string]int
	notices []advisory.Notice
	names   []string
}

func (m *merger) add(n advisory.Notice, name string) {
	i, ok := m.byID[n.ID]
	if !ok {
		m.byID[n.ID] = len(m.notices)
		m.notices = append(m.notices, n)
		m.names = append(m.names, name)
		return
	}
	first := &m.notices[i]
	first.CVEs = append(first.CVEs, n.CVEs...)
	for _, a := range n.Affected {
		if !hasAffected(first.Affected, a) {
			first.Affected = append(first.Affected, a)
		}
	}
	if !n.Published.IsZero() && (first.Published.IsZero() || n.Published.Before(first.Published)) {
		first.Published = n.Published
	}
}

func hasAffected(list []advisory.Affected, a advisory.Affected) bool {
	for _, b := range list {
		if b.Ecosystem == a.Ecosystem && b.Release == a.Release && b.Package == a.Package {
			return true
		}
	}
	return false
}

// pre returns the text of page's first <pre> (the message body) and its
// subject line (the first <h1>, else the <title>).
func pre(page []byte) (body, subject string, doc *goquery.Document, err error) {
	doc, err = goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		return "", "", nil, fmt.Errorf("parse message page: %w", err)
	}
	p := doc.Find("pre").First()
	if p.Length() == 0 {
		return "", "", doc, errNoBody
	}
	subject = strings.TrimSpace(doc.Find("h1").First().Text())
	if subject == "" {
		subject = strings.TrimSpace(doc.Find("title").First().Text())
	}
	return p.Text(), strings.Join(strings.Fields(subject), " "), doc, nil
}
