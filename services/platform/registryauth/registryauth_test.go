package registryauth

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	containers := write(t, dir, "auth.json", `{"auths": {
		"registry.example:5000": {"auth": "`+b64("alice:a-secret")+`"},
		"registry.example:5000/team": {"auth": "`+b64("team:t:secret")+`"},
		"docker.io": {"auth": "`+b64("hubuser:hubpass")+`"}}}`)
	docker := write(t, dir, "docker/config.json", `{"auths": {
		"https://index.docker.io/v1/": {"auth": "`+b64("dockeruser:x")+`"},
		"other.example": {"username": "bob", "password": "b-secret"},
		"token.example": {"identitytoken": "refresh"}},
		"credsStore": "desktop"}`)
	s, err := Load(containers, filepath.Join(dir, "missing.json"), docker)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, registry, repo string
		want                 Credential
		found                bool
	}{
		{"host entry", "registry.example:5000", "other/app", Credential{Username: "alice",
			Password: "a-secret"}, true},
		{"namespace entry wins", "registry.example:5000", "team/app",
			Credential{Username: "team", Password: "t:secret"}, true},
		{"first file wins for docker.io", "docker.io", "library/nginx",
			Credential{Username: "hubuser", Password: "hubpass"}, true},
		{"docker spelling of hub", "index.docker.io", "", Credential{Username: "hubuser",
			Password: "hubpass"}, true},
		{"plain fields", "other.example", "x", Credential{Username: "bob", Password: "b-secret"},
			true},
		{"identity token", "token.example", "", Credential{IdentityToken: "refresh"}, true},
		{"unknown registry", "nowhere.example", "x", Credential{}, false},
		{"prefix is not a match", "registry.example:500", "", Credential{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.Lookup(tt.registry, tt.repo)
			if ok != tt.found || got != tt.want {
				t.Errorf("Lookup(%q, %q) = %v %q/%q/%q, want %v %q/%q/%q", tt.registry, tt.repo,
					ok, got.Username, got.Password, got.IdentityToken,
					tt.found, tt.want.Username, tt.want.Password, tt.want.IdentityToken)
			}
		})
	}
}

func TestLoadErrorsHideThePath(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"notjson.json": `{"auths": `,
		"notb64.json":  `{"auths": {"r": {"auth": "%%%"}}}`,
		"nocolon.json": `{"auths": {"r": {"auth": "` + b64("justuser") + `"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			p := write(t, dir, "secret-dir/"+name, body)
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load accepted a malformed file")
			}
			if msg := err.Error(); strings.Contains(msg, "secret-dir") {
				t.Errorf("error %q names the file's directory", msg)
			}
		})
	}
}

func TestDefaultPaths(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"everything set", map[string]string{"REGISTRY_AUTH_FILE": "/a/auth.json",
			"XDG_RUNTIME_DIR": "/run/user/1", "HOME": "/home/u", "DOCKER_CONFIG": "/d"},
			[]string{"/a/auth.json", "/run/user/1/containers/auth.json",
				"/home/u/.config/containers/auth.json", "/d/config.json"}},
		{"home only", map[string]string{"HOME": "/home/u"},
			[]string{"/home/u/.config/containers/auth.json", "/home/u/.docker/config.json"}},
		{"nothing", map[string]string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultPaths(func(k string) string { return tt.env[k] })
			if !slices.Equal(got, tt.want) {
				t.Errorf("DefaultPaths = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"auths": {"r": {"auth": "` + b64("u:p") + `"}}}`))
	f.Add([]byte(`{"auths": {"https://index.docker.io/v1/": {"identitytoken": "t"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data)
		if err != nil && entries != nil {
			t.Fatal("Parse returned entries with an error")
		}
	})
}
