package compliance_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"crawlspace.dev/services/compliance"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/fixtures"
)

// TestNoFalseAlarms covers what other scanners' users reported as false
// alarms: rules must be not-applicable, or pass, where nothing is wrong.
func TestNoFalseAlarms(t *testing.T) {
	distroless := "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	alpine := &compliance.Features{ConfigFiles: map[string]string{
		"/etc/passwd": read(t, fixtures.Path(t, "configs/alpine-3.10.4-etc/passwd")),
		"/etc/shadow": read(t, fixtures.Path(t, "configs/alpine-3.10.4-etc/shadow")),
		"/etc/group":  read(t, fixtures.Path(t, "configs/alpine-3.10.4-etc/group")),
	}, Files: []compliance.File{{Path: "/bin/busybox", Type: "file", Mode: 0o755}}}
	tests := []struct {
		name string
		f    *compliance.Features
		// fail lists the rules allowed to fail; every other rule passes or
		// does not apply.
		fail []string
		na   []string
	}{
		{"scratch", &compliance.Features{Config: []byte(`{"config":{"User":"65532"}}`)},
			[]string{"image-healthcheck"},
			[]string{"password-empty", "ssh-permit-root-login", "permissions-shadow",
				"permissions-world-writable", "ftp-vsftpd-anonymous", "other-package-cache"}},
		{"distroless", &compliance.Features{
			Config: []byte(`{"config":{"User":"65532"}}`),
			Files: []compliance.File{{Path: "/etc/passwd", Type: "file", Mode: 0o644},
				{Path: "/etc/group", Type: "file", Mode: 0o644}},
			ConfigFiles: map[string]string{"/etc/passwd": distroless,
				"/etc/group": "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"}},
			[]string{"image-healthcheck"}, []string{"ssh-permit-root-login",
				"password-max-days", "permissions-shadow"}},
		{"locked alpine accounts", alpine, []string{"image-user-root", "image-healthcheck"},
			[]string{"ssh-permit-root-login"}},
		{"secret-looking env", &compliance.Features{Config: []byte(`{"config":{"User":"app",
			"Env":["GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
			"POSTGRES_PASSWORD_FILE=/run/secrets/pg","PASSWORD_MIN_LENGTH=12",
			"TOKEN_ENDPOINT=https://x/token","API_KEY=","PWD=/app","KEYCLOAK_VERSION=25"]}}`)},
			[]string{"image-healthcheck"}, nil},
	}
	set := mustRules(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := compliance.NewView(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]compliance.Status{}
			for _, r := range set.Evaluate(v) {
				got[r.Rule.ID] = r.Status
				allowed := strings.Contains(" "+strings.Join(tt.fail, " ")+" ", " "+r.Rule.ID+" ")
				if r.Status == compliance.StatusError ||
					(r.Status == compliance.StatusFail && !allowed) {
					t.Errorf("%s: %s %v", r.Rule.ID, r.Status, r.Evidence)
				}
			}
			for _, id := range tt.na {
				if got[id] != compliance.StatusNotApplicable {
					t.Errorf("%s = %s, want not-applicable", id, got[id])
				}
			}
		})
	}
}

// bookworm reads the real Debian 12 root file system the test images are
// built from, as the crawler would store it.
func bookworm(tb testing.TB) *compliance.Features {
	tb.Helper()
	dir := ocitest.Images(tb)
	root := filepath.Join(dir, "rootfs", "bookworm")
	f := &compliance.Features{OS: compliance.OS{ID: "debian", VersionID: "12",
		Codename: "bookworm"}, ConfigFiles: map[string]string{},
		Config: []byte(`{"config":{"Cmd":["bash"]},"history":[{"created_by":
			"/bin/sh -c #(nop) ADD file:0123abcd in / "}]}`)}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		abs := strings.TrimPrefix(p, root)
		fl := compliance.File{Path: abs, Type: fileType(info.Mode()),
			Mode: int(info.Mode().Perm()) | special(info.Mode()), UID: int(st.Uid),
			GID: int(st.Gid), Size: int(info.Size())}
		if fl.Type == "symlink" {
			fl.Link, _ = os.Readlink(p)
		}
		f.Files = append(f.Files, fl)
		if fl.Type == "file" && captured(abs) {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f.ConfigFiles[abs] = string(b)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	// The crawler stores only the installed package names the rules use.
	f.Packages = []compliance.Package{{Ecosystem: "dpkg", Name: "base-files"},
		{Ecosystem: "dpkg", Name: "login"}, {Ecosystem: "dpkg", Name: "passwd"}}
	return f
}

func captured(p string) bool {
	switch p {
	case "/etc/os-release", "/etc/login.defs", "/etc/passwd", "/etc/group", "/etc/shadow",
		"/etc/gshadow", "/etc/sudoers", "/etc/securetty", "/etc/inetd.conf":
		return true
	}
	return strings.HasPrefix(p, "/etc/pam.d/") || strings.HasPrefix(p, "/etc/ssh/sshd_config")
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeCharDevice != 0:
		return "char"
	case m&fs.ModeDevice != 0:
		return "block"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	}
	return "file"
}

func special(m fs.FileMode) int {
	out := 0
	if m&fs.ModeSetuid != 0 {
		out |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		out |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		out |= 0o1000
	}
	return out
}

// TestBookworm evaluates every rule on the real bookworm root file system:
// nothing errors, and the stock findings are the ones Debian ships.
func TestBookworm(t *testing.T) {
	v, err := compliance.NewView(bookworm(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]compliance.Status{
		"password-empty":                compliance.StatusPass,
		"password-max-days":             compliance.StatusFail, // PASS_MAX_DAYS 99999
		"password-pam-nullok":           compliance.StatusFail, // common-auth has nullok
		"permissions-shadow":            compliance.StatusPass,
		"permissions-world-writable":    compliance.StatusPass,
		"permissions-setuid-unexpected": compliance.StatusPass,
		"ssh-permit-root-login":         compliance.StatusNotApplicable,
		"image-user-root":               compliance.StatusFail,
		"image-history-add":             compliance.StatusPass,
	}
	for _, r := range mustRules(t).Evaluate(v) {
		if r.Status == compliance.StatusError {
			t.Errorf("%s: error %v", r.Rule.ID, r.Evidence)
		}
		if w, ok := want[r.Rule.ID]; ok && r.Status != w {
			t.Errorf("%s = %s, want %s (evidence %v)", r.Rule.ID, r.Status, w, r.Evidence)
		}
	}
}

// BenchmarkEvaluate measures every rule on the bookworm image's features,
// view building included.
func BenchmarkEvaluate(b *testing.B) {
	f := bookworm(b)
	set := mustRules(b)
	b.ReportMetric(float64(len(f.Files)), "files")
	b.ReportMetric(float64(len(set.Rules())), "rules")
	for b.Loop() {
		v, err := compliance.NewView(f)
		if err != nil {
			b.Fatal(err)
		}
		set.Evaluate(v)
	}
}
