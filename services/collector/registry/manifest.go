package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"
)

// manifestAccept lists the manifest types the client reads.
const manifestAccept = "application/vnd.oci.image.manifest.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, " +
	"application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.list.v2+json"

// manifest holds the fields of an image manifest or an index that Created
// needs.
type manifest struct {
	Config struct {
		Digest string `json:"digest"`
	} `json:"config"`
	Manifests []struct {
		Digest   string `json:"digest"`
		Platform struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
		} `json:"platform"`
	} `json:"manifests"`
}

// Created returns the creation time in the config of repo:tag (for an
// index, of its linux/amd64 image, or else its first). The zero time means
// the config has none.
func (c *Client) Created(ctx context.Context, repo, tag string) (time.Time, error) {
	m, err := c.manifest(ctx, repo, tag)
	if err != nil {
		return time.Time{}, err
	}
	if m.Config.Digest == "" && len(m.Manifests) > 0 {
		pick := m.Manifests[0].Digest
		for _, d := range m.Manifests {
			if d.Platform.OS == "linux" && d.Platform.Architecture == "amd64" {
				pick = d.Digest
				break
			}
		}
		if m, err = c.manifest(ctx, repo, pick); err != nil {
			return time.Time{}, err
		}
	}
	if m.Config.Digest == "" {
		return time.Time{}, fmt.Errorf("read manifest of %s:%s: no config", repo, tag)
	}
	var cfg struct {
		Created *time.Time `json:"created"`
	}
	u := c.base.ResolveReference(&url.URL{Path: "/v2/" + repo + "/blobs/" + m.Config.Digest})
	if err := c.decode(ctx, u, repo, "*/*", &cfg); err != nil {
		return time.Time{}, fmt.Errorf("read config of %s:%s: %w", repo, tag, err)
	}
	if cfg.Created == nil {
		return time.Time{}, nil
	}
	return *cfg.Created, nil
}

func (c *Client) manifest(ctx context.Context, repo, ref string) (*manifest, error) {
	var m manifest
	u := c.base.ResolveReference(&url.URL{Path: "/v2/" + repo + "/manifests/" + ref})
	if err := c.decode(ctx, u, repo, manifestAccept, &m); err != nil {
		return nil, fmt.Errorf("read manifest of %s:%s: %w", repo, ref, err)
	}
	return &m, nil
}

func (c *Client) decode(ctx context.Context, u *url.URL, repo, accept string, v any) error {
	resp, err := c.get(ctx, u, repo, accept)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", u.Path, err)
	}
	return nil
}
