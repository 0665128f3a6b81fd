// Package hub reads Docker Hub's JSON API: the official images
// (/v2/repositories/library/), repository search ordered by pull or star
// count (/v2/search/repositories/), and a repository's tags, following the
// API's "next" page links. Every request goes through the collector's
// polite fetch client.
package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crawlspace.dev/services/platform/fetch"
)

// maxPage bounds what is read of one API page.
const maxPage = 8 << 20

// Repository is what Hub says of one repository.
type Repository struct {
	// Namespace and Name make the repository's path: "library" and
	// "nginx" for the official nginx.
	Namespace, Name string
	// Official is true for Docker's official images.
	Official bool
	// PullCount and StarCount are Hub's figures.
	PullCount, StarCount int64
	// LastUpdated is when Hub says the repository last changed.
	LastUpdated time.Time
}

// Path returns namespace/name.
func (r Repository) Path() string { return r.Namespace + "/" + r.Name }

// Tag is one entry of a repository's tag list.
type Tag struct {
	Name        string
	LastUpdated time.Time
}

// Client reads one Hub API. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	fetch *fetch.Client
}

// New returns a Client for the Hub at base, such as
// "https://hub.docker.com".
func New(base string, f *fetch.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hub url: want http(s)://host")
	}
	u.User = nil
	return &Client{base: u, fetch: f}, nil
}

// Page is called with each page; returning false stops the listing.
type Page[T any] func(items []T) (more bool, err error)

// Official lists the official images (namespace library).
func (c *Client) Official(ctx context.Context, pageSize int, fn Page[Repository]) error {
	u := c.url("/v2/repositories/library/", url.Values{"page_size": {strconv.Itoa(pageSize)}})
	return pages(ctx, c, u, ParseRepositories, fn)
}

// Search lists the repositories matching query, in ordering (such as
// "-pull_count").
func (c *Client) Search(ctx context.Context, query, ordering string, pageSize int,
	fn Page[Repository]) error {
	u := c.url("/v2/search/repositories/", url.Values{"query": {query},
		"ordering": {ordering}, "page_size": {strconv.Itoa(pageSize)}})
	return pages(ctx, c, u, ParseSearch, fn)
}

// Tags lists the tags of repository path (namespace/name), newest first.
func (c *Client) Tags(ctx context.Context, path string, pageSize int) ([]Tag, error) {
	u := c.url("/v2/repositories/"+path+"/tags/", url.Values{
		"page_size": {strconv.Itoa(pageSize)}, "ordering": {"last_updated"}})
	var out []Tag
	err := pages(ctx, c, u, ParseTags, func(tags []Tag) (bool, error) {
		out = append(out, tags...)
		return true, nil
	})
	return out, err
}

func (c *Client) url(path string, q url.Values) *url.URL {
	return c.base.ResolveReference(&url.URL{Path: path, RawQuery: q.Encode()})
}

// pages follows a listing's next links from u.
func pages[T any](ctx context.Context, c *Client, u *url.URL,
	parse func([]byte) ([]T, string, error), fn Page[T]) error {
	for u != nil {
		body, err := c.get(ctx, u)
		if err != nil {
			return err
		}
		items, next, err := parse(body)
		if err != nil {
			return fmt.Errorf("read %s: %w", u.Path, err)
		}
		more, err := fn(items)
		if err != nil || !more || next == "" {
			return err
		}
		if u, err = u.Parse(next); err != nil {
			return fmt.Errorf("read %s: next link: %w", u.Path, err)
		}
	}
	return nil
}

func (c *Client) get(ctx context.Context, u *url.URL) ([]byte, error) {
	return c.getAccept(ctx, u, "application/json")
}

// getAccept GETs u asking for the media type accept and returns the body.
func (c *Client) getAccept(ctx context.Context, u *url.URL, accept string) ([]byte, error) {
	resp, err := c.fetch.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err == nil {
			req.Header.Set("Accept", accept)
		}
		return req, err
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fetch.Error(resp)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", u.Path, err)
	}
	return body, nil
}

// listing is the envelope every paginated Hub API answer shares.
type listing[T any] struct {
	Next    *string `json:"next"`
	Results []T     `json:"results"`
}

func decode[T any](data []byte) ([]T, string, error) {
	var l listing[T]
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, "", fmt.Errorf("decode hub page: %w", err)
	}
	next := ""
	if l.Next != nil {
		next = *l.Next
	}
	return l.Results, next, nil
}

// ParseRepositories reads a /v2/repositories/NAMESPACE/ page: its
// repositories and the next page's URL ("" on the last).
func ParseRepositories(data []byte) ([]Repository, string, error) {
	raw, next, err := decode[struct {
		Name        string    `json:"name"`
		Namespace   string    `json:"namespace"`
		StarCount   int64     `json:"star_count"`
		PullCount   int64     `json:"pull_count"`
		LastUpdated time.Time `json:"last_updated"`
	}](data)
	if err != nil {
		return nil, "", err
	}
	out := make([]Repository, 0, len(raw))
	for _, r := range raw {
		if !validPart(r.Namespace) || !validPart(r.Name) {
			continue
		}
		out = append(out, Repository{Namespace: r.Namespace, Name: r.Name,
			Official: r.Namespace == "library", PullCount: r.PullCount, StarCount: r.StarCount,
			LastUpdated: r.LastUpdated})
	}
	return out, next, nil
}

// ParseSearch reads a /v2/search/repositories/ page. Official images are
// named without a namespace there; they come back under library.
func ParseSearch(data []byte) ([]Repository, string, error) {
	raw, next, err := decode[struct {
		RepoName   string `json:"repo_name"`
		StarCount  int64  `json:"star_count"`
		PullCount  int64  `json:"pull_count"`
		IsOfficial bool   `json:"is_official"`
	}](data)
	if err != nil {
		return nil, "", err
	}
	out := make([]Repository, 0, len(raw))
	for _, r := range raw {
		ns, name, ok := strings.Cut(r.RepoName, "/")
		if !ok {
			ns, name = "library", r.RepoName
		}
		if !validPart(ns) || !validPart(name) {
			continue
		}
		out = append(out, Repository{Namespace: ns, Name: name,
			Official: r.IsOfficial || ns == "library", PullCount: r.PullCount,
			StarCount: r.StarCount})
	}
	return out, next, nil
}

// ParseTags reads a /v2/repositories/NS/NAME/tags/ page.
func ParseTags(data []byte) ([]Tag, string, error) {
	raw, next, err := decode[struct {
		Name        string    `json:"name"`
		LastUpdated time.Time `json:"last_updated"`
	}](data)
	if err != nil {
		return nil, "", err
	}
	out := make([]Tag, 0, len(raw))
	for _, t := range raw {
		if validTag(t.Name) {
			out = append(out, Tag{Name: t.Name, LastUpdated: t.LastUpdated})
		}
	}
	return out, next, nil
}

// validPart reports whether s can be one component of a repository path.
func validPart(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// validTag reports whether s is a tag an image reference can carry.
func validTag(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Buckets are Hub's pull-count buckets, largest first.
var Buckets = []struct {
	Min   int64
	Label string
}{
	{1_000_000_000, "1B+"}, {100_000_000, "100M+"}, {10_000_000, "10M+"},
	{5_000_000, "5M+"}, {1_000_000, "1M+"}, {500_000, "500K+"}, {100_000, "100K+"},
	{50_000, "50K+"}, {10_000, "10K+"},
}

// Bucket returns the bucket of a pull count, "" below the smallest.
func Bucket(pulls int64) string {
	for _, b := range Buckets {
		if pulls >= b.Min {
			return b.Label
		}
	}
	return ""
}
