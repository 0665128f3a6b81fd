// Package registryauth reads registry credentials from the files container
// tools keep them in: the file REGISTRY_AUTH_FILE names, containers'
// auth.json and Docker's config.json. Callers pass the file locations in
// (see [DefaultPaths]); this package reads no environment of its own and
// never logs a path or a secret.
package registryauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Credential is what one auth file holds for a registry.
type Credential struct {
	// Username and Password are for basic auth and the token flow.
	Username, Password string
	// IdentityToken, when set, is an OAuth2 refresh token for the
	// registry's token endpoint.
	IdentityToken string
}

// String hides the secrets, so that a credential printed by mistake
// shows nothing.
func (c Credential) String() string { return "registryauth.Credential{redacted}" }

// GoString hides the secrets from %#v too.
func (c Credential) GoString() string { return c.String() }

// DefaultPaths returns the auth files container tools read, in order of
// precedence, from the environment getenv reads: REGISTRY_AUTH_FILE, then
// $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
// then $DOCKER_CONFIG/config.json or else ~/.docker/config.json.
func DefaultPaths(getenv func(string) string) []string {
	var paths []string
	add := func(parts ...string) {
		if parts[0] != "" {
			paths = append(paths, filepath.Join(parts...))
		}
	}
	add(getenv("REGISTRY_AUTH_FILE"))
	add(getenv("XDG_RUNTIME_DIR"), "containers", "auth.json")
	home := getenv("HOME")
	add(home, ".config", "containers", "auth.json")
	if d := getenv("DOCKER_CONFIG"); d != "" {
		add(d, "config.json")
	} else {
		add(home, ".docker", "config.json")
	}
	return paths
}

// Store holds the credentials of several auth files. The zero value holds
// none.
type Store struct {
	// files holds each file's entries by normalised key, in precedence.
	files []map[string]Credential
}

// fileShape is the part auth.json and config.json share.
type fileShape struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		Username      string `json:"username"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
	// TODO(crawlspace): credHelpers and credsStore name credential
	// helper programs; entries kept by a helper are not found.
}

// Load reads the files at paths, skipping those that do not exist. An
// error names a file by its base name only.
func Load(paths ...string) (*Store, error) {
	s := &Store{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read auth file %s: %w", filepath.Base(p), errors.Unwrap(err))
		}
		entries, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("parse auth file %s: %w", filepath.Base(p), err)
		}
		s.files = append(s.files, entries)
	}
	return s, nil
}

// Parse reads one auth file's entries by normalised key: a registry host,
// or host/namespace for a containers auth.json entry that scopes one.
func Parse(data []byte) (map[string]Credential, error) {
	var f fileShape
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	out := make(map[string]Credential, len(f.Auths))
	for key, a := range f.Auths {
		c := Credential{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a.Auth))
			if err != nil {
				return nil, fmt.Errorf("entry %d: auth is not base64", len(out)+1)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("entry %d: auth is not user:password", len(out)+1)
			}
			c.Username, c.Password = user, pass
		}
		out[normalise(key)] = c
	}
	return out, nil
}

// Lookup returns the credential for repository on registry: from the first
// file that has one, the entry naming the longest prefix of
// registry/repository.
func (s *Store) Lookup(registry, repository string) (Credential, bool) {
	if s == nil {
		return Credential{}, false
	}
	key := normalise(registry)
	if repository != "" {
		key += "/" + repository
	}
	for _, entries := range s.files {
		for k := key; ; {
			if c, ok := entries[k]; ok {
				return c, true
			}
			i := strings.LastIndexByte(k, '/')
			if i < 0 {
				break
			}
			k = k[:i]
		}
	}
	return Credential{}, false
}

// normalise maps the spellings tools use for one registry to one key:
// no scheme, no API version suffix, and docker.io for Docker Hub.
func normalise(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	key = strings.TrimSuffix(key, "/")
	for _, suffix := range []string{"/v1", "/v2"} {
		key = strings.TrimSuffix(key, suffix)
	}
	host, rest, _ := strings.Cut(key, "/")
	switch host {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		host = "docker.io"
	}
	if rest == "" {
		return host
	}
	return host + "/" + rest
}
