package compliance_test

import (
	"encoding/json"
	"maps"
	"testing"

	"crawlspace.dev/services/compliance"
	"crawlspace.dev/services/platform/fixtures"
)

// base is a small Debian-like image that every rule passes or skips.
func base(t *testing.T) *compliance.Features {
	t.Helper()
	return &compliance.Features{
		OS: compliance.OS{ID: "debian", VersionID: "12", Codename: "bookworm"},
		Config: config(t, map[string]any{"User": "app",
			"Healthcheck": map[string]any{"Test": []string{"CMD", "true"}}}, nil),
		Files: []compliance.File{
			{Path: "/etc/passwd", Type: "file", Mode: 0o644},
			{Path: "/etc/group", Type: "file", Mode: 0o644},
			{Path: "/etc/shadow", Type: "file", Mode: 0o640, GID: 42},
			{Path: "/tmp", Type: "dir", Mode: 0o1777},
			{Path: "/usr/bin/passwd", Type: "file", Mode: 0o4755},
			{Path: "/bin/sh", Type: "symlink", Mode: 0o777, Link: "dash"},
		},
		Packages: []compliance.Package{{Ecosystem: "dpkg", Name: "base-files", Version: "12.4"}},
		ConfigFiles: map[string]string{
			"/etc/passwd": "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n",
			"/etc/shadow": "root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n",
			"/etc/group":  "root:x:0:\nshadow:x:42:\napp:x:1000:\n",
			"/etc/login.defs": "PASS_MAX_DAYS 90\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 7\n" +
				"ENCRYPT_METHOD SHA512\nUMASK 027\n",
		},
	}
}

func config(t *testing.T, cfg map[string]any, history []string) []byte {
	t.Helper()
	h := []map[string]any{}
	for _, c := range history {
		h = append(h, map[string]any{"created_by": c})
	}
	b, err := json.Marshal(map[string]any{"config": cfg, "history": h})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// with returns a copy of base changed by edit.
func with(t *testing.T, edit func(f *compliance.Features)) *compliance.Features {
	f := base(t)
	f.ConfigFiles = maps.Clone(f.ConfigFiles)
	edit(f)
	return f
}

func sshd(conf string) func(f *compliance.Features) {
	return func(f *compliance.Features) {
		f.Packages = append(f.Packages, compliance.Package{Name: "openssh-server"})
		f.ConfigFiles["/etc/ssh/sshd_config"] = conf
		f.Files = append(f.Files, compliance.File{Path: "/etc/ssh/sshd_config", Type: "file",
			Mode: 0o600})
	}
}

func file(path, typ string, mode int) func(f *compliance.Features) {
	return func(f *compliance.Features) {
		f.Files = append(f.Files, compliance.File{Path: path, Type: typ, Mode: mode})
	}
}

func conf(path, text string) func(f *compliance.Features) {
	return func(f *compliance.Features) { f.ConfigFiles[path] = text }
}

func history(t *testing.T, lines ...string) func(f *compliance.Features) {
	return func(f *compliance.Features) {
		f.Config = config(t, map[string]any{"User": "app",
			"Healthcheck": map[string]any{"Test": []string{"CMD", "true"}}}, lines)
	}
}

func imageCfg(t *testing.T, cfg map[string]any) func(f *compliance.Features) {
	return func(f *compliance.Features) {
		c := map[string]any{"User": "app",
			"Healthcheck": map[string]any{"Test": []string{"CMD", "true"}}}
		maps.Copy(c, cfg)
		f.Config = config(t, c, nil)
	}
}

const strictSSHD = "PermitRootLogin no\nPasswordAuthentication no\nMaxAuthTries 3\n"

// TestPlanted plants one violation per case next to a clean control that
// differs only in the planted detail: the violation must be found, and the
// control must pass.
func TestPlanted(t *testing.T) {
	vsftpdSample := read(t, fixtures.Path(t, "configs/vsftpd/vsftpd.conf"))
	tests := []struct {
		rule           string
		planted, clean func(f *compliance.Features)
	}{
		{"ssh-permit-root-login", sshd("PermitRootLogin yes\n"), sshd(strictSSHD)},
		{"ssh-password-authentication", sshd("PermitRootLogin no\n"), sshd(strictSSHD)},
		{"ssh-permit-empty-passwords", sshd("PermitEmptyPasswords yes\n"), sshd(strictSSHD)},
		{"ssh-x11-forwarding", sshd("X11Forwarding yes\n"), sshd(strictSSHD)},
		{"ssh-max-auth-tries", sshd("PermitRootLogin no\n"), sshd(strictSSHD)},
		{"ssh-ignore-rhosts", sshd("IgnoreRhosts no\n"), sshd(strictSSHD)},
		{"ssh-hostbased-authentication", sshd("HostbasedAuthentication yes\n"),
			sshd(strictSSHD)},
		{"ssh-permit-user-environment", sshd("PermitUserEnvironment yes\n"), sshd(strictSSHD)},
		{"ssh-protocol-1", sshd("Protocol 2,1\n"), sshd(strictSSHD)},
		{"ssh-config-permissions", func(f *compliance.Features) {
			sshd(strictSSHD)(f)
			f.Files[len(f.Files)-1].Mode = 0o666
		}, sshd(strictSSHD)},
		{"ssh-host-key-permissions", func(f *compliance.Features) {
			sshd(strictSSHD)(f)
			file("/etc/ssh/ssh_host_ed25519_key", "file", 0o644)(f)
		}, func(f *compliance.Features) {
			sshd(strictSSHD)(f)
			file("/etc/ssh/ssh_host_ed25519_key.pub", "file", 0o644)(f)
		}},
		{"ssh-host-keys-in-image", func(f *compliance.Features) {
			sshd(strictSSHD)(f)
			file("/etc/ssh/ssh_host_rsa_key", "file", 0o600)(f)
		}, sshd(strictSSHD)},
		{"password-empty", conf("/etc/shadow", "root:*:1::::::\napp::1::::::\n"),
			conf("/etc/shadow", "root:*:1::::::\napp:!:1::::::\n")},
		{"password-uid0-non-root", conf("/etc/passwd", "root:x:0:0::/root:/bin/sh\n"+
			"toor:x:0:0::/root:/bin/sh\n"), conf("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")},
		{"password-duplicate-uid", conf("/etc/passwd", "root:x:0:0::/:/bin/sh\n"+
			"a:x:5:5::/:/bin/sh\nb:x:5:5::/:/bin/sh\n"), conf("/etc/passwd",
			"root:x:0:0::/:/bin/sh\na:x:5:5::/:/bin/sh\nb:x:6:5::/:/bin/sh\n")},
		{"password-duplicate-gid", conf("/etc/group", "root:x:0:\nshadow:x:42:\na:x:42:\n"),
			conf("/etc/group", "root:x:0:\nshadow:x:42:\na:x:43:\n")},
		{"password-duplicate-name", conf("/etc/group", "root:x:0:\nroot:x:1:\n"),
			conf("/etc/group", "root:x:0:\nbin:x:1:\n")},
		{"password-hash-in-passwd", conf("/etc/passwd", "root:$6$salt$hash:0:0::/:/bin/sh\n"),
			conf("/etc/passwd", "root:x:0:0::/:/bin/sh\n")},
		{"password-group-empty", conf("/etc/gshadow", "root:::\nadm:::\n"),
			conf("/etc/gshadow", "root:*::\nadm:!::\n")},
		{"password-max-days", conf("/etc/login.defs", "PASS_MIN_DAYS 1\n"),
			conf("/etc/login.defs", "PASS_MAX_DAYS 365\n")},
		{"password-account-max-days", conf("/etc/shadow",
			"root:*:19000:0:99999:7:::\napp:<hashed>:19000:0:99999:7:::\n"),
			conf("/etc/shadow", "root:*:19000:0:99999:7:::\napp:<hashed>:19000:0:90:7:::\n")},
		{"password-min-days", conf("/etc/login.defs", "PASS_MIN_DAYS 0\n"),
			conf("/etc/login.defs", "PASS_MIN_DAYS 7\n")},
		{"password-warn-age", conf("/etc/login.defs", "PASS_WARN_AGE 3\n"),
			conf("/etc/login.defs", "PASS_WARN_AGE 14\n")},
		{"password-encrypt-method", conf("/etc/login.defs", "UMASK 077\n"),
			conf("/etc/login.defs", "ENCRYPT_METHOD YESCRYPT\n")},
		{"password-umask", conf("/etc/login.defs", "UMASK 022\n"),
			conf("/etc/login.defs", "UMASK 077\n")},
		{"password-pam-nullok", conf("/etc/pam.d/common-auth",
			"auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n"),
			conf("/etc/pam.d/common-auth",
				"auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\n")},
		{"password-pam-quality", conf("/etc/pam.d/common-password",
			"password [success=1 default=ignore] pam_unix.so obscure yescrypt\n"),
			conf("/etc/pam.d/common-password", "password requisite pam_pwquality.so retry=3\n"+
				"password [success=1 default=ignore] pam_unix.so use_authtok\n")},
		{"password-pam-permit", conf("/etc/pam.d/login", "auth sufficient pam_permit.so\n"+
			"auth required pam_unix.so\n"), conf("/etc/pam.d/login", "@include common-auth\n")},
		{"permissions-passwd", file("/etc/passwd", "file", 0o666), nil},
		{"permissions-shadow", file("/etc/shadow", "file", 0o644), nil},
		{"permissions-group", file("/etc/group", "file", 0o664), nil},
		{"permissions-gshadow", file("/etc/gshadow", "file", 0o644),
			file("/etc/gshadow", "file", 0o640)},
		{"permissions-sudoers", file("/etc/sudoers.d/app", "file", 0o644),
			file("/etc/sudoers.d/app", "file", 0o440)},
		{"permissions-world-writable", file("/srv/data", "dir", 0o777),
			file("/srv/data", "dir", 0o1777)},
		{"permissions-setuid-writable", file("/usr/local/bin/helper", "file", 0o4777),
			file("/usr/local/bin/helper", "file", 0o755)},
		{"permissions-setuid-unexpected", file("/usr/local/bin/helper", "file", 0o4755),
			file("/usr/bin/su", "file", 0o4755)},
		{"permissions-unowned", func(f *compliance.Features) {
			f.Files = append(f.Files, compliance.File{Path: "/opt/x", Type: "file", UID: 4242,
				Mode: 0o644})
		}, nil},
		{"permissions-cron", file("/etc/crontab", "file", 0o666),
			file("/etc/crontab", "file", 0o644)},
		{"ftp-vsftpd-anonymous", conf("/etc/vsftpd.conf", vsftpdSample),
			conf("/etc/vsftpd.conf", "anonymous_enable=NO\nssl_enable=YES\n")},
		{"ftp-vsftpd-anonymous-upload", conf("/etc/vsftpd.conf",
			"anonymous_enable=YES\nwrite_enable=YES\nanon_upload_enable=YES\n"),
			conf("/etc/vsftpd.conf", "anonymous_enable=YES\nanon_upload_enable=YES\n")},
		{"ftp-vsftpd-tls", conf("/etc/vsftpd.conf", "listen=YES\n"),
			conf("/etc/vsftpd.conf", "ssl_enable=YES\n")},
		{"ftp-vsftpd-valid-config", conf("/etc/vsftpd.conf", "listen = YES\n"),
			conf("/etc/vsftpd.conf", "listen=YES\n")},
		{"ftp-proftpd-anonymous", conf("/etc/proftpd/proftpd.conf",
			"ServerName x\n<Anonymous ~ftp>\n User ftp\n</Anonymous>\n"),
			conf("/etc/proftpd/proftpd.conf", "ServerName x\n")},
		{"ftp-proftpd-anonymous-upload", conf("/etc/proftpd/proftpd.conf",
			"<Anonymous ~ftp>\n<Directory incoming>\n<Limit STOR>\nAllowAll\n</Limit>\n"+
				"</Directory>\n</Anonymous>\n"),
			conf("/etc/proftpd/proftpd.conf",
				"<Anonymous ~ftp>\n<Limit WRITE>\nDenyAll\n</Limit>\n</Anonymous>\n")},
		{"ftp-proftpd-tls", conf("/etc/proftpd/proftpd.conf", "TLSEngine on\n"),
			conf("/etc/proftpd/proftpd.conf",
				"<Global>\nTLSEngine on\nTLSRequired on\n</Global>\n")},
		{"ftp-proftpd-root-login", conf("/etc/proftpd/proftpd.conf", "RootLogin on\n"),
			conf("/etc/proftpd/proftpd.conf", "RootLogin off\n")},
		{"other-telnet-server", func(f *compliance.Features) {
			f.Packages = append(f.Packages, compliance.Package{Name: "telnetd"})
		}, func(f *compliance.Features) {
			f.Packages = append(f.Packages, compliance.Package{Name: "telnet"})
		}},
		{"other-rsh-server", file("/usr/sbin/in.rshd", "file", 0o755),
			file("/usr/bin/rsh", "file", 0o755)},
		{"other-tftp-server", func(f *compliance.Features) {
			f.Packages = append(f.Packages, compliance.Package{Name: "tftpd-hpa"})
		}, func(f *compliance.Features) {
			f.Packages = append(f.Packages, compliance.Package{Name: "tftp-hpa"})
		}},
		{"other-inetd-insecure", conf("/etc/inetd.conf",
			"telnet stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.telnetd\n"),
			conf("/etc/inetd.conf",
				"#telnet stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.telnetd\n")},
		{"other-package-cache", func(f *compliance.Features) {
			f.Files = append(f.Files, compliance.File{
				Path: "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
				Type: "file", Mode: 0o644, Size: 151000})
		}, file("/var/lib/apt/lists/lock", "file", 0o640)},
		{"other-credential-files", file("/root/.ssh/id_rsa", "file", 0o600),
			file("/root/.ssh/id_rsa.pub", "file", 0o644)},
		{"other-unnecessary-files", file("/app/.git", "dir", 0o755),
			file("/app/.github", "dir", 0o755)},
		{"other-sudo-nopasswd", func(f *compliance.Features) {
			conf("/etc/sudoers", "root ALL=(ALL:ALL) ALL\n#includedir /etc/sudoers.d\n")(f)
			conf("/etc/sudoers.d/app", "app ALL=(ALL) NOPASSWD: ALL\n")(f)
		}, func(f *compliance.Features) {
			conf("/etc/sudoers", "root ALL=(ALL:ALL) ALL\n#includedir /etc/sudoers.d\n")(f)
			// sudo skips files with a dot in their name.
			conf("/etc/sudoers.d/app.disabled", "app ALL=(ALL) NOPASSWD: ALL\n")(f)
		}},
		{"other-sudo-everyone", conf("/etc/sudoers", "ALL ALL=(ALL) ALL\n"),
			conf("/etc/sudoers", "%sudo ALL=(ALL:ALL) ALL\n")},
		{"image-user-root", imageCfg(t, map[string]any{"User": "0:0"}), nil},
		{"image-healthcheck", imageCfg(t, map[string]any{"Healthcheck": map[string]any{
			"Test": []string{"NONE"}}}), nil},
		{"image-env-secret", imageCfg(t, map[string]any{"Env": []string{
			"DB_PASSWORD=<redacted>"}}), imageCfg(t, map[string]any{"Env": []string{
			"DB_PASSWORD_FILE=/run/secrets/db", "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
			"MYSQL_ROOT_PASSWORD=", "PWD=/", "TOKEN_URL=https://auth.example/token"}})},
		{"image-history-add-remote",
			history(t, "ADD https://example.com/app.tgz /opt/ # buildkit"),
			history(t, "/bin/sh -c #(nop) ADD file:0a1b2c3d in / ")},
		{"image-history-add", history(t, "ADD app.tar /opt/ # buildkit"),
			history(t, "/bin/sh -c #(nop) ADD file:0a1b2c3d in / ", "COPY app /opt/ # buildkit")},
		{"image-history-curl-pipe-sh", history(t, "RUN /bin/sh -c curl -fsSL https://x.sh | bash"),
			history(t, "RUN /bin/sh -c curl -fsSLo x.sh https://x.sh && sha256sum -c s "+
				"&& sh x.sh")},
		{"image-history-update-alone", history(t, "RUN /bin/sh -c apt-get update"),
			history(t, "RUN /bin/sh -c apt-get update && apt-get install -y curl")},
		{"image-history-sudo", history(t, "RUN /bin/sh -c sudo make install"),
			history(t, "RUN /bin/sh -c apt-get install -y sudo")},
		{"image-history-dist-upgrade", history(t, "RUN /bin/sh -c apt-get -y dist-upgrade"),
			history(t, "RUN /bin/sh -c apt-get -y upgrade")},
		{"image-history-unverified-packages",
			history(t, "RUN /bin/sh -c apt-get install -y --allow-unauthenticated x"),
			history(t, "RUN /bin/sh -c apt-get install -y --no-install-recommends x")},
		{"image-volume-sensitive", imageCfg(t, map[string]any{"Volumes": map[string]any{
			"/etc": map[string]any{}}}), imageCfg(t, map[string]any{"Volumes": map[string]any{
			"/var/lib/app": map[string]any{}}})},
		{"image-expose-ssh", imageCfg(t, map[string]any{"ExposedPorts": map[string]any{
			"22/tcp": map[string]any{}}}), imageCfg(t, map[string]any{
			"ExposedPorts": map[string]any{
				"8080/tcp": map[string]any{}}})},
	}
	set := mustRules(t)
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			covered[tt.rule] = true
			if _, ok := set.Lookup(tt.rule); !ok {
				t.Fatalf("no rule %s", tt.rule)
			}
			clean := tt.clean
			if clean == nil {
				clean = func(*compliance.Features) {}
			}
			for _, c := range []struct {
				name string
				edit func(f *compliance.Features)
				want compliance.Status
			}{{"planted", tt.planted, compliance.StatusFail}, {"clean", clean,
				compliance.StatusPass}} {
				got := status(t, set, with(t, c.edit), tt.rule)
				if got.Status != c.want {
					t.Errorf("%s: %s, want %s (evidence %v)", c.name, got.Status, c.want,
						got.Evidence)
				}
			}
		})
	}
	for _, r := range set.Rules() {
		if !covered[r.ID] {
			t.Errorf("rule %s has no planted case", r.ID)
		}
	}
}

// status evaluates every rule on f and returns rule's result; every other
// rule must not be in error.
func status(t *testing.T, set *compliance.RuleSet, f *compliance.Features,
	rule string) compliance.Result {
	t.Helper()
	v, err := compliance.NewView(f)
	if err != nil {
		t.Fatal(err)
	}
	var out compliance.Result
	for _, r := range set.Evaluate(v) {
		if r.Status == compliance.StatusError {
			t.Errorf("%s: error %v", r.Rule.ID, r.Evidence)
		}
		if r.Rule.ID == rule {
			out = r
		}
	}
	return out
}
