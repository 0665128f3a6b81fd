package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"crawlspace.dev/services/platform/fetch"
	"crawlspace.dev/services/platform/registryauth"
)

// tokenResponse is a token endpoint's answer; registries use either name.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// fetchToken asks the challenge's realm for a token and keeps it under
// key, the scope the client asked for. The challenge's own scope, when it
// names one, is what the token is requested for.
func (c *Client) fetchToken(ctx context.Context, ch Challenge, key string,
	cred registryauth.Credential, haveCred bool) error {
	realm, err := url.Parse(ch.Params["realm"])
	if err != nil || (realm.Scheme != "http" && realm.Scheme != "https") {
		return fmt.Errorf("bearer challenge of %s: realm is not an http(s) url", c.base.Host)
	}
	scope := key
	if s := ch.Params["scope"]; s != "" {
		scope = s
	}
	resp, err := c.fetch.Do(ctx, tokenRequest(realm, ch.Params["service"], scope, cred, haveCred))
	if err != nil {
		return fmt.Errorf("get token for %s: %w", scope, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("get token for %s: %w: %s", scope, ErrUnauthorized, resp.Status)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("get token for %s: %w", scope, fetch.Error(resp))
	}
	var tr tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return fmt.Errorf("decode token for %s: %w", scope, err)
	}
	value := tr.Token
	if value == "" {
		value = tr.AccessToken
	}
	if value == "" {
		return fmt.Errorf("get token for %s: the endpoint returned none", scope)
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life < time.Minute {
		life = time.Minute // the distribution spec's floor
	}
	c.mu.Lock()
	c.tokens[key] = token{value: value, expires: time.Now().Add(life - 10*time.Second)}
	c.mu.Unlock()
	return nil
}

// tokenRequest builds the token request: an OAuth2 refresh-token POST when
// the credential is an identity token, else a GET with basic auth when
// there are credentials, anonymous otherwise.
func tokenRequest(realm *url.URL, service, scope string, cred registryauth.Credential,
	haveCred bool) fetch.RequestFunc {
	return func(ctx context.Context) (*http.Request, error) {
		if haveCred && cred.IdentityToken != "" {
			form := url.Values{"grant_type": {"refresh_token"}, "service": {service},
				"scope": {scope}, "client_id": {"crawlspace"},
				"refresh_token": {cred.IdentityToken}}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, realm.String(),
				strings.NewReader(form.Encode()))
			if err != nil {
				return nil, fmt.Errorf("build token request: %w", err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req, nil
		}
		u := *realm
		q := u.Query()
		if service != "" {
			q.Set("service", service)
		}
		q.Set("scope", scope)
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("build token request: %w", err)
		}
		if haveCred {
			req.SetBasicAuth(cred.Username, cred.Password)
		}
		return req, nil
	}
}
