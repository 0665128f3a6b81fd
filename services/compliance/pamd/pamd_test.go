package pamd_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/compliance/pamd"
	"crawlspace.dev/services/platform/fixtures"
)

// TestUpstream reads Linux-PAM and OpenSSH's own service files.
func TestUpstream(t *testing.T) {
	tests := []struct {
		file    string
		minimum int
		module  string
	}{
		{"configs/shadow/pam.d/login", 10, "pam_selinux.so"},
		{"configs/shadow/pam.d/su", 1, "pam_rootok.so"},
		{"configs/openssh/sshd.pam.generic", 3, "pam_unix.so"},
		{"configs/vsftpd/vsftpd.pam.redhat", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(fixtures.Path(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rules := pamd.Parse(tt.file, string(b))
			if len(rules) < tt.minimum {
				t.Fatalf("%d rules, want at least %d: %+v", len(rules), tt.minimum, rules)
			}
			found := tt.module == ""
			for _, r := range rules {
				if r.Type == "" || r.Control == "" || r.Module == "" || r.Line < 1 {
					t.Errorf("incomplete rule %+v", r)
				}
				found = found || r.ModuleName() == tt.module
			}
			if !found {
				t.Errorf("no %s rule", tt.module)
			}
		})
	}
}

func TestStack(t *testing.T) {
	files := map[string]string{
		"/etc/pam.d/login": "auth optional pam_faildelay.so delay=3000000\n" +
			"@include common-auth\n-session optional pam_systemd.so\n" +
			"account include common-account\n",
		"/etc/pam.d/common-auth": "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n" +
			"auth requisite pam_deny.so # comment\naccount required pam_x.so\n",
		"/etc/pam.d/common-account": "auth required pam_skipped.so\n" +
			"account required \\\n  pam_unix.so\n",
	}
	var got []string
	for _, r := range pamd.Stack(files, "login") {
		got = append(got, r.Type+" "+r.Control+" "+r.ModuleName())
	}
	want := []string{
		"auth optional pam_faildelay.so",
		"auth [success=1 default=ignore] pam_unix.so",
		"auth requisite pam_deny.so",
		"account required pam_x.so",
		"session optional pam_systemd.so",
		"account required pam_unix.so",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stack (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("auth [success=1 default=ignore] pam_unix.so nullok\n@include common-auth\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range pamd.Parse("/etc/pam.d/x", s) {
			if r.Module == "" || r.Line < 1 {
				t.Errorf("rule %+v", r)
			}
		}
		_ = pamd.Stack(map[string]string{"/etc/pam.d/x": s, "/etc/pam.d/" + s: s}, "x")
	})
}
