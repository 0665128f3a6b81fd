// Package registrytest starts real docker-registry servers for tests, with
// or without htpasswd auth, and pushes images to them through the
// distribution HTTP API: one small layer, a config per creation time, and
// as many tags as a test wants, each tag one manifest PUT.
package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"crawlspace.dev/services/internal/ocitest"
	"golang.org/x/crypto/bcrypt"
)

// Registry is one running docker-registry.
type Registry struct {
	// Host is its 127.0.0.1:port.
	Host string
	// User and Password are the htpasswd login, empty without auth.
	User, Password string
}

// URL returns the registry's base URL.
func (r *Registry) URL() string { return "http://" + r.Host }

// Start runs docker-registry on a free port with storage in a temporary
// directory until the test ends. With a user, it requires that login
// through htpasswd basic auth. Without the binary the test is skipped, or
// fails when CI is set.
func Start(t testing.TB, user, password string) *Registry {
	t.Helper()
	bin := ocitest.Tool(t, "docker-registry")
	dir := t.TempDir()
	r := &Registry{Host: ocitest.FreeAddr(t), User: user, Password: password}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"+
		"    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), r.Host)
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		writeFile(t, htpasswd, user+":"+string(hash)+"\n")
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: crawlspace-test\n"+
			"    path: %s\n", htpasswd)
	}
	conf := filepath.Join(dir, "config.yml")
	writeFile(t, conf, cfg)
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
	})
	r.waitReady(t)
	return r
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (r *Registry) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("docker-registry on %s did not answer", r.Host)
}

// Image is what [Pusher.Image] uploaded: the manifest to PUT under tags.
type Image struct {
	Manifest []byte
	Digest   string
}

// Pusher uploads to one registry, as the registry's own user when it has
// one.
type Pusher struct {
	t    testing.TB
	base string
	user string
	pass string
}

// Pusher returns a pusher for r.
func (r *Registry) Pusher(t testing.TB) *Pusher {
	return &Pusher{t: t, base: r.URL(), user: r.User, pass: r.Password}
}

// NewPusher returns an anonymous pusher for the registry at host.
func NewPusher(t testing.TB, host string) *Pusher {
	return &Pusher{t: t, base: "http://" + host}
}

// Image uploads a one-layer image whose config says it was created at
// created (no created field when zero) into repo, and returns its manifest.
func (p *Pusher) Image(repo string, created time.Time) Image {
	p.t.Helper()
	layer := tinyLayer(p.t)
	layerDigest := p.Blob(repo, layer)
	cfg := map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digestOf(layerTar)}},
		"config": map[string]any{"User": "1000"}}
	if !created.IsZero() {
		cfg["created"] = created.UTC().Format(time.RFC3339Nano)
	}
	cfgBytes, _ := json.Marshal(cfg)
	cfgDigest := p.Blob(repo, cfgBytes)
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json",
			"digest": cfgDigest, "size": len(cfgBytes)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
			"digest": layerDigest, "size": len(layer)}},
	})
	return Image{Manifest: m, Digest: digestOf(m)}
}

// layerTar is the uncompressed tar of the one layer every pushed image has.
var layerTar = func() []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := []byte("crawlspace collector test\n")
	_ = tw.WriteHeader(&tar.Header{Name: "etc/motd", Mode: 0o644, Size: int64(len(body)),
		ModTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Typeflag: tar.TypeReg})
	_, _ = tw.Write(body)
	_ = tw.Close()
	return b.Bytes()
}()

func tinyLayer(t testing.TB) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(layerTar); err != nil {
		t.Fatal(err)
	}
	_ = zw.Close()
	return b.Bytes()
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Blob uploads data into repo in one monolithic upload and returns its
// digest.
func (p *Pusher) Blob(repo string, data []byte) string {
	p.t.Helper()
	d := digestOf(data)
	resp := p.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", "", nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		p.t.Fatalf("start upload to %s: %s", repo, resp.Status)
	}
	base, _ := url.Parse(p.base)
	loc = base.ResolveReference(loc)
	q := loc.Query()
	q.Set("digest", d)
	loc.RawQuery = q.Encode()
	resp = p.do(http.MethodPut, loc.String(), "application/octet-stream", data)
	if resp.StatusCode != http.StatusCreated {
		p.t.Fatalf("upload blob to %s: %s", repo, resp.Status)
	}
	return d
}

// Mount makes the blob dgst of repository from available in repo without
// uploading it again.
func (p *Pusher) Mount(repo, from, dgst string) {
	p.t.Helper()
	q := url.Values{"mount": {dgst}, "from": {from}}
	resp := p.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?"+q.Encode(), "", nil)
	if resp.StatusCode != http.StatusCreated {
		p.t.Fatalf("mount %s from %s into %s: %s", dgst, from, repo, resp.Status)
	}
}

// Tag puts the manifest m under each of tags in repo.
func (p *Pusher) Tag(repo string, m []byte, tags ...string) {
	p.t.Helper()
	var mt struct {
		MediaType string `json:"mediaType"`
	}
	_ = json.Unmarshal(m, &mt)
	if mt.MediaType == "" {
		mt.MediaType = "application/vnd.oci.image.manifest.v1+json"
	}
	for _, tag := range tags {
		resp := p.do(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, mt.MediaType, m)
		if resp.StatusCode != http.StatusCreated {
			p.t.Fatalf("put manifest %s:%s: %s", repo, tag, resp.Status)
		}
	}
}

// Get reads path from the registry, for copying a manifest.
func (p *Pusher) Get(path, accept string) []byte {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.base+path, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	return p.send(req, http.StatusOK)
}

func (p *Pusher) send(req *http.Request, want int) []byte {
	p.t.Helper()
	if p.user != "" {
		req.SetBasicAuth(p.user, p.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		p.t.Fatalf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	return body
}

func (p *Pusher) do(method, target, contentType string, body []byte) *http.Response {
	p.t.Helper()
	if len(target) > 0 && target[0] == '/' {
		target = p.base + target
	}
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if p.user != "" {
		req.SetBasicAuth(p.user, p.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// Variant returns manifest m with an annotation naming key, so that each
// key gives a manifest of its own digest over the same config and layers.
func Variant(t testing.TB, m []byte, key string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(m, &doc); err != nil {
		t.Fatal(err)
	}
	doc["annotations"] = map[string]string{"dev.crawlspace.test.variant": key}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
