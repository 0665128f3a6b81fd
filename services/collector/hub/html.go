package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// ErrNoPullCount is returned for a repository page that shows no pull
// count.
var ErrNoPullCount = errors.New("no pull count on the page")

// officialHref matches the link of an official image's page, "/_/nginx".
var officialHref = regexp.MustCompile(`^(?:https?://[^/]+)?/_/([a-z0-9][a-z0-9._-]*)/?$`)

// ParseOfficialPage reads an HTML page listing official images, such as
// Hub's search filtered to the official badge, and returns their names in
// page order, each once. It keys on the links to the images' pages
// ("/_/NAME"), not on class names, which Hub's builds rename.
func ParseOfficialPage(r io.Reader) ([]string, error) {
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(r, maxPage))
	if err != nil {
		return nil, fmt.Errorf("parse hub page: %w", err)
	}
	var out []string
	seen := map[string]bool{}
	doc.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
		m := officialHref.FindStringSubmatch(a.AttrOr("href", ""))
		if m == nil || seen[m[1]] || !validPart(m[1]) {
			return
		}
		seen[m[1]] = true
		out = append(out, m[1])
	})
	return out, nil
}

// pullText matches Hub's rounded pull counts: "1B+", "10M+", "500K+",
// "1.2M", "9,876".
var pullText = regexp.MustCompile(`^(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d))?\s*([KMB])?(\+)?$`)

// ParsePullText reads a pull count as Hub's pages print it and returns the
// least count it stands for: "10M+" is 10,000,000 and "1.2K" 1,200.
func ParsePullText(s string) (int64, bool) {
	m := pullText.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	whole, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
	if err != nil {
		return 0, false
	}
	unit := map[string]int64{"": 1, "K": 1e3, "M": 1e6, "B": 1e9}[m[3]]
	if m[2] != "" && m[3] == "" {
		return 0, false
	}
	if whole > (1<<62)/unit {
		return 0, false
	}
	n := whole * unit
	if m[2] != "" {
		n += int64(m[2][0]-'0') * unit / 10
	}
	return n, true
}

// ParseRepositoryPage reads a repository's HTML page and returns the pull
// count it shows, as [ParsePullText] reads it, and the text as shown. The
// count is the first leaf element whose text is a pull count and whose
// parent labels it as pulls; Hub's markup has no stable ids.
func ParseRepositoryPage(r io.Reader) (int64, string, error) {
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(r, maxPage))
	if err != nil {
		return 0, "", fmt.Errorf("parse hub page: %w", err)
	}
	var n int64
	var text string
	doc.Find("body *").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if s.Children().Length() > 0 {
			return true
		}
		t := strings.TrimSpace(s.Text())
		v, ok := ParsePullText(t)
		if !ok || !mentionsPulls(s) {
			return true
		}
		n, text = v, t
		return false
	})
	if text == "" {
		return 0, "", ErrNoPullCount
	}
	return n, text, nil
}

// mentionsPulls reports whether s's parent, the count's label and value,
// says pulls and not stars.
func mentionsPulls(s *goquery.Selection) bool {
	t := strings.ToLower(s.Parent().Text())
	return strings.Contains(t, "pull") && !strings.Contains(t, "star")
}

// RepositoryPage fetches the HTML page of repository path (namespace/name;
// library/NAME is an official image's "/_/NAME") and returns the pull count
// it shows and the text as shown, for when the API gives no count.
func (c *Client) RepositoryPage(ctx context.Context, path string) (int64, string, error) {
	page := "/r/" + path + "/"
	if name, ok := strings.CutPrefix(path, "library/"); ok {
		page = "/_/" + name + "/"
	}
	body, err := c.getPage(ctx, c.url(page, nil))
	if err != nil {
		return 0, "", err
	}
	n, text, err := ParseRepositoryPage(bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", page, err)
	}
	return n, text, nil
}

// OfficialPage fetches Hub's search page filtered to official images and
// returns the names it links to.
func (c *Client) OfficialPage(ctx context.Context) ([]string, error) {
	u := c.url("/search", url.Values{"badges": {"official"}, "type": {"image"}})
	body, err := c.getPage(ctx, u)
	if err != nil {
		return nil, err
	}
	return ParseOfficialPage(bytes.NewReader(body))
}

func (c *Client) getPage(ctx context.Context, u *url.URL) ([]byte, error) {
	return c.getAccept(ctx, u, "text/html")
}
