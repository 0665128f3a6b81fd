package collector

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"crawlspace.dev/services/collector/registry"
	"crawlspace.dev/services/platform/registryauth"
)

// walkRegistry visits the repositories of the catalog at spec.URL (under
// its path, when it has one) in catalog order, after cursor.
func walkRegistry(ctx context.Context, spec Spec, policy Policy, cursor string, opts Options,
	visit Visit) error {
	u, err := url.Parse(spec.URL)
	if err != nil {
		return fmt.Errorf("registry url: invalid")
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	host := u.Host
	c, err := registry.New(spec.URL, opts.Fetch, func(repo string) (registryauth.Credential, bool) {
		return opts.Auth.Lookup(host, repo)
	})
	if err != nil {
		return err
	}
	log := opts.Logger.With("registry", host)
	return c.Catalog(ctx, cursor, opts.PageSize, func(repos []string) error {
		log.Debug("catalog page", "repositories", len(repos))
		for _, name := range repos {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			r, err := registryRepository(ctx, c, name, policy, opts.PageSize)
			if err != nil {
				return err
			}
			if err := visit(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// registryRepository lists name's tags and applies the policy. For
// recent:N it reads each tag's config for its creation time.
func registryRepository(ctx context.Context, c *registry.Client, name string, policy Policy,
	pageSize int) (*Repository, error) {
	listed, err := c.Tags(ctx, name, pageSize)
	if err != nil {
		return nil, err
	}
	created := func(ctx context.Context, tag string) (time.Time, error) {
		return c.Created(ctx, name, tag)
	}
	tags, err := policy.Select(ctx, listed, created)
	if err != nil {
		return nil, err
	}
	if listed == nil {
		listed = []string{}
	}
	return &Repository{Key: name, Registry: c.Host(), Name: name, Listed: listed, Tags: tags},
		nil
}
