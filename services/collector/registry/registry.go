// Package registry lists the repositories and tags of an OCI distribution
// registry: /v2/_catalog and /v2/<name>/tags/list with Link pagination,
// basic auth and the bearer-token flow, and reads an image's creation time
// from its config for tag policies that order by it.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"crawlspace.dev/services/platform/redact"

	"crawlspace.dev/services/platform/fetch"
	"crawlspace.dev/services/platform/registryauth"
)

// maxBody bounds what is read of any one response.
const maxBody = 16 << 20

// Credentials finds the credential for a repository of the registry ("" for
// the catalog). A nil Credentials means anonymous access.
type Credentials func(repository string) (registryauth.Credential, bool)

// Client reads one registry. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	fetch *fetch.Client
	creds Credentials

	mu     sync.Mutex
	tokens map[string]token // by scope
	basic  bool             // the registry asked for basic auth
}

type token struct {
	value   string
	expires time.Time
}

// New returns a Client for the registry at base, such as
// "https://registry.example" or "http://127.0.0.1:5000".
func New(base string, f *fetch.Client, creds Credentials) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry url %q: want http(s)://host[:port]", redact.URL(base))
	}
	u.User, u.Path, u.RawQuery = nil, "", ""
	return &Client{base: u, fetch: f, creds: creds, tokens: map[string]token{}}, nil
}

// Host returns the registry's host[:port], as image references name it.
func (c *Client) Host() string { return c.base.Host }

// Catalog calls fn with each page of repository names, in the registry's
// order, starting after last ("" for the start). pageSize is the n
// parameter; 0 leaves it to the registry.
func (c *Client) Catalog(ctx context.Context, last string, pageSize int,
	fn func(repos []string) error) error {
	q := url.Values{}
	if pageSize > 0 {
		q.Set("n", strconv.Itoa(pageSize))
	}
	if last != "" {
		q.Set("last", last)
	}
	next := c.base.ResolveReference(&url.URL{Path: "/v2/_catalog", RawQuery: q.Encode()})
	for next != nil {
		var page struct {
			Repositories []string `json:"repositories"`
		}
		link, err := c.getJSON(ctx, next, "", &page)
		if err != nil {
			return fmt.Errorf("list catalog of %s: %w", c.base.Host, err)
		}
		if err := fn(page.Repositories); err != nil {
			return err
		}
		next = link
	}
	return nil
}

// Tags lists every tag of repo, following pagination.
func (c *Client) Tags(ctx context.Context, repo string, pageSize int) ([]string, error) {
	q := url.Values{}
	if pageSize > 0 {
		q.Set("n", strconv.Itoa(pageSize))
	}
	next := c.base.ResolveReference(&url.URL{Path: "/v2/" + repo + "/tags/list",
		RawQuery: q.Encode()})
	var tags []string
	for next != nil {
		var page TagList
		link, err := c.getJSON(ctx, next, repo, &page)
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", repo, err)
		}
		tags = append(tags, page.Tags...)
		next = link
	}
	return tags, nil
}

// TagList is the body of GET /v2/<name>/tags/list.
type TagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// getJSON reads u into v and returns the next page's URL, if any.
func (c *Client) getJSON(ctx context.Context, u *url.URL, repo string, v any) (*url.URL, error) {
	resp, err := c.get(ctx, u, repo, "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", u.Path, err)
	}
	next, _ := NextLink(strings.Join(resp.Header.Values("Link"), ","), u)
	return next, nil
}

// get fetches u, answering an authentication challenge once. The response
// is a 2xx; its body is the caller's to close.
func (c *Client) get(ctx context.Context, u *url.URL, repo, accept string) (*http.Response, error) {
	scope := "registry:catalog:*"
	if repo != "" {
		scope = "repository:" + repo + ":pull"
	}
	resp, err := c.fetch.Do(ctx, c.request(u, repo, scope, accept))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		if err := c.answer(ctx, resp, repo, scope); err != nil {
			return nil, err
		}
		resp, err = c.fetch.Do(ctx, c.request(u, repo, scope, accept))
		if err != nil {
			return nil, err
		}
	}
	if resp.StatusCode/100 != 2 {
		return nil, fetch.Error(resp)
	}
	return resp, nil
}

// request builds GET u with whatever authorisation is known for scope.
func (c *Client) request(u *url.URL, repo, scope, accept string) fetch.RequestFunc {
	return func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("build request for %s: %w", u.Path, err)
		}
		req.Header.Set("Accept", accept)
		c.mu.Lock()
		tok, basic := c.tokens[scope], c.basic
		c.mu.Unlock()
		switch {
		case tok.value != "" && time.Now().Before(tok.expires):
			req.Header.Set("Authorization", "Bearer "+tok.value)
		case basic:
			if cred, ok := c.credential(repo); ok {
				req.SetBasicAuth(cred.Username, cred.Password)
			}
		}
		return req, nil
	}
}

func (c *Client) credential(repo string) (registryauth.Credential, bool) {
	if c.creds == nil {
		return registryauth.Credential{}, false
	}
	return c.creds(repo)
}

// ErrUnauthorized is returned when the registry refuses the credentials,
// or asks for some when none are configured.
var ErrUnauthorized = errors.New("unauthorized")

// answer acts on a 401's challenge: it fetches a bearer token for scope, or
// switches to basic auth. It closes resp's body.
func (c *Client) answer(ctx context.Context, resp *http.Response, repo, scope string) error {
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	ch, ok := ParseChallenge(resp.Header.Get("WWW-Authenticate"))
	cred, haveCred := c.credential(repo)
	switch {
	case ok && ch.Scheme == "bearer":
		return c.fetchToken(ctx, ch, scope, cred, haveCred)
	case ok && ch.Scheme == "basic" && haveCred:
		c.mu.Lock()
		already := c.basic
		c.basic = true
		c.mu.Unlock()
		if already {
			return fmt.Errorf("%w: %s refused the basic credentials", ErrUnauthorized, c.base.Host)
		}
		return nil
	default:
		return fmt.Errorf("%w: %s wants credentials and none are configured",
			ErrUnauthorized, c.base.Host)
	}
}
