package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"crawlspace.dev/services/cli"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/store/storetest"
)

// TestScanCommand runs `crawlspace scan` the way a user does for a one-off
// scan: no NATS server named, so every stage runs inside the command.
func TestScanCommand(t *testing.T) {
	registry := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	derived := ocitest.Env(t, "CRAWLSPACE_TEST_NOTICES")
	_, pgURL := storetest.New(t)
	dataDir := t.TempDir()
	common := []string{"--pg-url", pgURL, "--data-dir", dataDir, "--log-level", "warn"}

	var out bytes.Buffer
	args := append([]string{"notices", "load", "--source", "dsa"}, common...)
	err := cli.Run(t.Context(), append(args, derived), os.Getenv, nil, &out, testWriter{t})
	if err != nil {
		t.Fatalf("notices load: %v", err)
	}

	good := registry + "/test/debian-ssh:planted"
	bad := registry + "/test/does-not-exist:1"
	out.Reset()
	args = append([]string{"scan", "--format", "json", "--insecure-registry", registry,
		"--max-attempts", "2", "--retry-backoff", "100ms"}, common...)
	err = cli.Run(t.Context(), append(args, good, bad), os.Getenv, nil, &out, testWriter{t})
	if err == nil {
		t.Error("scan exited zero although one reference does not exist")
	}

	var res struct {
		Images []struct {
			Ref    string `json:"ref"`
			Digest string `json:"digest"`
			Error  string `json:"error"`
			OS     struct {
				ID        string `json:"id"`
				VersionID string `json:"version_id"`
				Codename  string `json:"codename"`
			} `json:"os"`
			Packages []struct {
				Name          string `json:"name"`
				SourceVersion string `json:"source_version"`
			} `json:"packages"`
			Vulnerabilities []struct {
				Package, Notice, Status string
				CVEs                    []string `json:"cves"`
			} `json:"vulnerabilities"`
			Compliance []struct {
				Rule, Category, Status string
				Evidence               json.RawMessage
			} `json:"compliance"`
		} `json:"images"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("scan --format json printed something else: %v\n%s", err, out.String())
	}
	if len(res.Images) != 2 {
		t.Fatalf("got %d images, want 2", len(res.Images))
	}
	img := res.Images[0]
	if img.Ref != good || img.Error != "" || img.OS.ID != "debian" || img.OS.VersionID != "12" ||
		img.OS.Codename != "bookworm" {
		t.Errorf("planted image: ref %q error %q os %+v", img.Ref, img.Error, img.OS)
	}
	if len(img.Packages) < 80 || len(img.Vulnerabilities) == 0 || len(img.Compliance) < 40 {
		t.Errorf("planted image: %d packages, %d vulnerabilities, %d rule results",
			len(img.Packages), len(img.Vulnerabilities), len(img.Compliance))
	}
	planted := map[string]bool{"image-user-root": true, "password-empty": true,
		"ssh-permit-root-login": true}
	for _, r := range img.Compliance {
		if planted[r.Rule] && r.Status != "fail" {
			t.Errorf("planted rule %s is %s, want fail", r.Rule, r.Status)
		}
		delete(planted, r.Rule)
	}
	if len(planted) > 0 {
		t.Errorf("planted rules missing from the output: %v", planted)
	}
	if res.Images[1].Ref != bad || res.Images[1].Error == "" {
		t.Errorf("missing image: %+v, want an error", res.Images[1])
	}
}
