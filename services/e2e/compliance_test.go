package e2e

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crawlspace.dev/services/internal/ocitest"
)

// secretValue is the planted AWS secret key: shaped like a real one, so
// that it must never reach the database.
const secretValue = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Lr3NtKv"

// planted is one rule the violations image breaks, and where: the
// evidence must hold a violation in file at line whose value contains
// value. file "" and line 0 mean the image config (line is then the
// history index, when the rule says so).
type planted struct {
	rule, file string
	line       int
	value      string
	// control is the status on the controls image.
	control string
}

// TestComplianceImages builds two images on the real bookworm layer, one
// with a violation planted in every rule category and one with the same
// files put right, scans both and the plain bookworm image through the
// pipeline, and checks every planted violation is found where it was
// planted and every control passes.
func TestComplianceImages(t *testing.T) {
	registry := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	images := ocitest.Env(t, "CRAWLSPACE_TEST_IMAGES")
	base := bookwormLayer(t, filepath.Join(images, "oci"))
	rootfs := filepath.Join(images, "rootfs", "bookworm")

	bad := violationFiles(t, rootfs)
	good := controlFiles(t, rootfs)
	repo := fmt.Sprintf("crawlspace-test/compliance-%08x", rand.Uint32())
	violations := registry + "/" + repo + ":violations"
	controls := registry + "/" + repo + ":controls"
	push(t, registry, repo, "violations", base, bad.entries, violationConfig())
	push(t, registry, repo, "controls", base, good.entries, controlConfig())

	p := start(t, registry)
	bookworm := registry + "/test/debian:bookworm"
	digests := p.scan("compliance", violations, controls, bookworm)

	cases := []planted{
		{"password-uid0-non-root", "/etc/passwd", bad.line("/etc/passwd", "toor:"), "toor",
			"pass"},
		{"password-duplicate-uid", "/etc/passwd", bad.line("/etc/passwd", "toor:"), "toor 0",
			"pass"},
		{"password-empty", "/etc/passwd", bad.line("/etc/passwd", "guest:"), "guest", "pass"},
		{"password-max-days", "/etc/login.defs",
			bad.line("/etc/login.defs", "PASS_MAX_DAYS"), "99999", "pass"},
		{"password-account-max-days", "/etc/shadow", bad.line("/etc/shadow", "alice:"),
			"alice 99999", "pass"},
		{"permissions-world-writable", "/opt/app/settings.ini", 0, "0666", "pass"},
		{"permissions-world-writable", "/srv/upload", 0, "0777", "pass"},
		{"permissions-setuid-unexpected", "/usr/local/bin/backup-helper", 0, "4755", "pass"},
		{"ftp-vsftpd-anonymous", "/etc/vsftpd.conf",
			bad.line("/etc/vsftpd.conf", "anonymous_enable"), "YES", "pass"},
		{"ftp-vsftpd-anonymous-upload", "/etc/vsftpd.conf",
			bad.line("/etc/vsftpd.conf", "anon_upload_enable"), "anon_upload_enable=YES",
			"pass"},
		{"ftp-vsftpd-tls", "/etc/vsftpd.conf", 0, "NO", "pass"},
		{"ssh-permit-root-login", "/etc/ssh/sshd_config",
			bad.line("/etc/ssh/sshd_config", "PermitRootLogin"), "yes", "pass"},
		{"ssh-password-authentication", "/etc/ssh/sshd_config",
			bad.line("/etc/ssh/sshd_config", "PasswordAuthentication"), "yes", "pass"},
		{"ssh-x11-forwarding", "/etc/ssh/sshd_config",
			bad.line("/etc/ssh/sshd_config", "X11Forwarding"), "yes", "pass"},
		{"ssh-max-auth-tries", "/etc/ssh/sshd_config",
			bad.line("/etc/ssh/sshd_config", "MaxAuthTries"), "10", "pass"},
		{"other-telnet-server", "/usr/sbin/in.telnetd", 0, "present", "pass"},
		{"other-package-cache", "/var/cache/apt/archives/netcat-openbsd_1.219-1_amd64.deb",
			0, "bytes", "pass"},
		{"other-package-cache",
			"/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
			0, "bytes", "pass"},
		{"image-user-root", "", 0, "root", "pass"},
		{"image-healthcheck", "", 0, "absent", "pass"},
		{"image-env-secret", "", 0, "AWS_SECRET_ACCESS_KEY", "pass"},
		{"image-expose-ssh", "", 0, "22/tcp", "pass"},
		{"image-history-curl-pipe-sh", "", 1, "| sh", "pass"},
	}
	got := map[string]map[string]result{}
	for _, ref := range []string{violations, controls, bookworm} {
		got[ref] = p.ruleResults(digests[ref])
	}

	for _, c := range cases {
		t.Run(c.rule+" "+c.file, func(t *testing.T) {
			r := got[violations][c.rule]
			if r.Status != "fail" {
				t.Fatalf("violations: %s, want fail; evidence %s", r.Status, r.raw)
			}
			if !slices.ContainsFunc(r.Violations, func(v violationRow) bool {
				return v.File == c.file && v.Line == c.line && strings.Contains(v.Value, c.value)
			}) {
				t.Errorf("violations: no evidence at %s:%d with %q; got %s",
					c.file, c.line, c.value, r.raw)
			}
			if r := got[controls][c.rule]; r.Status != c.control {
				t.Errorf("controls: %s, want %s; evidence %s", r.Status, c.control, r.raw)
			}
		})
	}

	t.Run("file and line of a setting", func(t *testing.T) {
		// The sshd_config line number is counted here from the planted
		// file itself; the rule result must point at exactly that line.
		r := got[violations]["ssh-permit-root-login"]
		want := violationRow{File: "/etc/ssh/sshd_config",
			Line: bad.line("/etc/ssh/sshd_config", "PermitRootLogin yes"), Value: "yes",
			Expected: "prohibit-password, forced-commands-only or no"}
		if len(r.Violations) != 1 || r.Violations[0] != want {
			t.Errorf("evidence %s, want exactly %+v", r.raw, want)
		}
		if want.Line < 2 {
			t.Fatalf("planted line %d: the test would prove nothing", want.Line)
		}
	})

	t.Run("a pass says what it found", func(t *testing.T) {
		for _, c := range []struct {
			rule, file, prefix, value string
		}{
			{"ssh-permit-root-login", "/etc/ssh/sshd_config", "PermitRootLogin", "no"},
			{"ssh-max-auth-tries", "/etc/ssh/sshd_config", "MaxAuthTries", "3"},
			{"password-max-days", "/etc/login.defs", "PASS_MAX_DAYS", "90"},
			{"ftp-vsftpd-tls", "/etc/vsftpd.conf", "ssl_enable", "YES"},
		} {
			r := got[controls][c.rule]
			want := violationRow{File: c.file, Line: good.line(c.file, c.prefix), Value: c.value}
			if r.Found == nil || *r.Found != want {
				t.Errorf("controls %s: evidence %s, want found %+v", c.rule, r.raw, want)
			}
		}
	})

	t.Run("every result carries its rule's title", func(t *testing.T) {
		for ref, rs := range got {
			for id, r := range rs {
				if r.Title == "" {
					t.Errorf("%s: %s has no title", ref, id)
				}
			}
		}
		want := "SSH server does not permit root login with a password"
		if r := got[violations]["ssh-permit-root-login"]; r.Title != want {
			t.Errorf("ssh-permit-root-login title %q, want %q", r.Title, want)
		}
	})

	t.Run("no rule in error", func(t *testing.T) {
		for ref, rs := range got {
			for id, r := range rs {
				if r.Status == "error" {
					t.Errorf("%s: %s in error: %s", ref, id, r.raw)
				}
			}
		}
	})

	t.Run("SSH rules do not apply without sshd", func(t *testing.T) {
		n := 0
		for id, r := range got[bookworm] {
			if r.Category != "ssh" {
				continue
			}
			n++
			if r.Status != "not-applicable" {
				t.Errorf("bookworm: %s is %s, want not-applicable", id, r.Status)
			}
		}
		if n < 5 {
			t.Errorf("bookworm: %d SSH rule results, want every SSH rule", n)
		}
	})

	t.Run("the secret is not stored", func(t *testing.T) {
		leaks := p.rows(`SELECT 'images' FROM images WHERE config::text LIKE '%' || $1 || '%'
			UNION ALL SELECT 'rule_results' FROM rule_results
			WHERE evidence::text LIKE '%' || $1 || '%'`, secretValue)
		if len(leaks) > 0 {
			t.Errorf("the planted secret value is stored in %v", leaks)
		}
	})
}

// result is one stored rule result with its evidence decoded.
type result struct {
	Title, Category, Status string
	Violations              []violationRow
	// Found is what a pass saw, for rules that say.
	Found *violationRow
	raw   string
}

// violationRow is one violation of a stored rule result.
type violationRow struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Value    string `json:"value"`
	Expected string `json:"expected"`
}

// ruleResults reads every rule result of the image, by rule id.
func (p *pipeline) ruleResults(digest string) map[string]result {
	p.t.Helper()
	rows, err := p.pool.Query(p.t.Context(), `SELECT rule_id, title, category, status,
		evidence::text FROM rule_results WHERE image_digest = $1`, digest)
	if err != nil {
		p.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]result{}
	for rows.Next() {
		var id string
		var r result
		if err := rows.Scan(&id, &r.Title, &r.Category, &r.Status, &r.raw); err != nil {
			p.t.Fatal(err)
		}
		var ev struct {
			Violations []violationRow
			Found      *violationRow
		}
		if err := json.Unmarshal([]byte(r.raw), &ev); err != nil {
			p.t.Fatalf("%s evidence %s: %v", id, r.raw, err)
		}
		r.Violations, r.Found = ev.Violations, ev.Found
		out[id] = r
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	if len(out) < 40 {
		p.t.Fatalf("%s has %d rule results, want every rule", digest, len(out))
	}
	return out
}

// bookwormLayer reads the single layer of the image tagged bookworm in the
// OCI layout at dir.
func bookwormLayer(t *testing.T, dir string) ocitest.Layer {
	t.Helper()
	var index struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	i := slices.IndexFunc(index.Manifests, func(m struct {
		Digest      string
		Annotations map[string]string
	}) bool {
		return m.Annotations["org.opencontainers.image.ref.name"] == "bookworm"
	})
	if i < 0 {
		t.Fatalf("%s has no image tagged bookworm", dir)
	}
	var m struct {
		Layers []struct{ MediaType, Digest string }
	}
	readJSON(t, blobPath(dir, index.Manifests[i].Digest), &m)
	if len(m.Layers) != 1 {
		t.Fatalf("bookworm has %d layers, want 1", len(m.Layers))
	}
	blob, err := os.ReadFile(blobPath(dir, m.Layers[0].Digest))
	if err != nil {
		t.Fatal(err)
	}
	return ocitest.Layer{MediaType: m.Layers[0].MediaType, Blob: blob}
}

func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// layerFiles is the top layer of a test image, with the text of the files
// whose line numbers the test checks.
type layerFiles struct {
	t       *testing.T
	entries []ocitest.Entry
	text    map[string]string
}

// add appends a file with body and mode, owned by root.
func (l *layerFiles) add(name, body string, mode int64) {
	if l.text == nil {
		l.text = map[string]string{}
	}
	l.entries = append(l.entries, ocitest.Entry{Name: strings.TrimPrefix(name, "/"),
		Body: body, Mode: mode})
	l.text[name] = body
}

// dir appends a directory.
func (l *layerFiles) dir(name string, mode int64) {
	l.entries = append(l.entries, ocitest.Entry{Name: strings.TrimPrefix(name, "/") + "/",
		Type: tar.TypeDir, Mode: mode})
}

// line returns the 1-based line of file that starts with prefix.
func (l *layerFiles) line(file, prefix string) int {
	l.t.Helper()
	for i, s := range strings.Split(l.text[file], "\n") {
		if strings.HasPrefix(s, prefix) {
			return i + 1
		}
	}
	l.t.Fatalf("%s has no line starting %q", file, prefix)
	return 0
}

// baseFile reads a file of the bookworm root file system.
func baseFile(t *testing.T, rootfs, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(rootfs, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// setLine replaces the line of text starting with key by line.
func setLine(t *testing.T, text, key, line string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	i := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, key) })
	if i < 0 {
		t.Fatalf("no line starting %q", key)
	}
	lines[i] = line
	return strings.Join(lines, "\n")
}

// accountLines are the planted accounts: a second UID 0 (also a
// duplicate UID), one with an empty password and one with a password that
// never expires. shadow takes the password and maximum age fields.
func accountLines(t *testing.T, rootfs, guestPW, maxDays string) (passwd, shadow string) {
	passwd = baseFile(t, rootfs, "etc/passwd") +
		"alice:x:1000:1000:Alice:/home/alice:/bin/bash\n" +
		"guest:x:1001:1001:Guest:/home/guest:/bin/bash\n"
	shadow = baseFile(t, rootfs, "etc/shadow") +
		"alice:$y$j9T$Qm9vYmFyYmF6$3Xq0Rk1l5cL7uWbZkq9o0B7dXq9fYt0sJc2mPp4Zr1D:20000:1:" +
		maxDays + ":7:::\n" +
		"guest:" + guestPW + ":20000:1:90:7:::\n"
	return passwd, shadow
}

// violationFiles is the top layer of the violations image.
func violationFiles(t *testing.T, rootfs string) *layerFiles {
	l := &layerFiles{t: t}
	passwd, shadow := accountLines(t, rootfs, "", "99999")
	l.add("/etc/passwd", passwd+"toor:x:0:0:root:/root:/bin/bash\n", 0o644)
	l.add("/etc/shadow", shadow+"toor:*:20000:0:99999:7:::\n", 0o640)
	l.add("/etc/login.defs", setLine(t, baseFile(t, rootfs, "etc/login.defs"),
		"PASS_MAX_DAYS", "PASS_MAX_DAYS\t99999"), 0o644)
	l.dir("/opt/app", 0o755)
	l.add("/opt/app/settings.ini", "[app]\nport = 8080\n", 0o666)
	l.dir("/srv/upload", 0o777)
	l.add("/usr/local/bin/backup-helper", "#!/bin/sh\nexec tar -C / -cf - etc\n", 0o4755)
	l.add("/etc/vsftpd.conf", "listen=YES\nanonymous_enable=YES\nwrite_enable=YES\n"+
		"anon_upload_enable=YES\nlocal_enable=YES\n", 0o644)
	sshFiles(l, "PermitRootLogin yes\nPasswordAuthentication yes\nX11Forwarding yes\n"+
		"MaxAuthTries 10\n")
	l.add("/usr/sbin/in.telnetd", "\x7fELF planted telnetd\n", 0o755)
	l.dir("/var/cache/apt/archives", 0o755)
	l.add("/var/cache/apt/archives/netcat-openbsd_1.219-1_amd64.deb", "!<arch>\n", 0o644)
	l.add("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
		"Package: netcat-openbsd\nVersion: 1.219-1\n", 0o644)
	return l
}

// controlFiles is the top layer of the controls image: the same files put
// right, and none of the planted programs or caches.
func controlFiles(t *testing.T, rootfs string) *layerFiles {
	l := &layerFiles{t: t}
	passwd, shadow := accountLines(t, rootfs, "!", "90")
	l.add("/etc/passwd", passwd, 0o644)
	l.add("/etc/shadow", shadow, 0o640)
	l.add("/etc/login.defs", setLine(t, baseFile(t, rootfs, "etc/login.defs"),
		"PASS_MAX_DAYS", "PASS_MAX_DAYS\t90"), 0o644)
	l.dir("/opt/app", 0o755)
	l.add("/opt/app/settings.ini", "[app]\nport = 8080\n", 0o644)
	l.dir("/srv/upload", 0o1777)
	l.add("/usr/local/bin/backup-helper", "#!/bin/sh\nexec tar -C / -cf - etc\n", 0o755)
	l.add("/etc/vsftpd.conf", "listen=YES\nanonymous_enable=NO\nwrite_enable=YES\n"+
		"anon_upload_enable=NO\nlocal_enable=YES\nssl_enable=YES\n", 0o644)
	sshFiles(l, "PermitRootLogin no\nPasswordAuthentication no\nX11Forwarding no\n"+
		"MaxAuthTries 3\n")
	return l
}

// sshFiles adds an SSH server binary and sshd_config with settings.
func sshFiles(l *layerFiles, settings string) {
	l.dir("/etc/ssh", 0o755)
	l.add("/etc/ssh/sshd_config", "# planted by crawlspace's compliance test\n"+
		"Port 22\n"+settings+"Subsystem sftp /usr/lib/openssh/sftp-server\n", 0o644)
	l.add("/usr/sbin/sshd", "\x7fELF planted sshd\n", 0o755)
}

// imageConfig is the runtime part of a test image's config.
type imageConfig struct {
	User         string              `json:"User"`
	Env          []string            `json:"Env"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	Healthcheck  map[string]any      `json:"Healthcheck,omitempty"`
	history      []string
}

func violationConfig() imageConfig {
	return imageConfig{User: "root",
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"AWS_SECRET_ACCESS_KEY=" + secretValue},
		ExposedPorts: map[string]struct{}{"22/tcp": {}},
		history: []string{
			"RUN /bin/sh -c curl -fsSL https://get.example.com/install.sh | sh"},
	}
}

func controlConfig() imageConfig {
	return imageConfig{User: "app",
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"AWS_SECRET_ACCESS_KEY_FILE=/run/secrets/aws"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Healthcheck:  map[string]any{"Test": []string{"CMD", "/usr/local/bin/backup-helper"}},
		history: []string{"RUN /bin/sh -c curl -fsSLo /tmp/install.sh " +
			"https://get.example.com/install.sh && sha256sum -c /tmp/install.sh.sum && " +
			"sh /tmp/install.sh"},
	}
}

// push uploads an image of base and a layer of entries, with config cfg,
// to registry as repo:tag.
func push(t *testing.T, registry, repo, tag string, base ocitest.Layer,
	entries []ocitest.Entry, cfg imageConfig) {
	t.Helper()
	top := ocitest.Layer{MediaType: ocitest.MediaTarGzip,
		Blob: ocitest.Gzip(t, ocitest.Tar(t, entries...))}
	history := append([]string{"/bin/sh -c #(nop) ADD " +
		"file:9c2b1b4d2f0a7e7c3b5e0c1d8f6a4b2e9d7c5a3f1e0b8d6c4a2f0e9d7c5b3a1 in / "},
		cfg.history...)
	img := ocitest.BuildConfig(t, ocitest.Config{Runtime: cfg, History: history}, base, top)
	ocitest.Push(t, registry, repo, tag, img)
}
