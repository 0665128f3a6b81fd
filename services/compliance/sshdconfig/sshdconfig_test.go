package sshdconfig_test

import (
	"os"
	"strings"
	"testing"

	"crawlspace.dev/services/platform/fixtures"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/compliance/sshdconfig"
)

// TestUpstreamDefault reads OpenSSH's own sshd_config, in which every
// option is commented out.
func TestUpstreamDefault(t *testing.T) {
	f, err := os.Open(fixtures.Path(t, "configs/openssh/sshd_config"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := sshdconfig.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		keyword string
		set     bool
		want    sshdconfig.Entry
	}{
		{"PermitRootLogin", false, sshdconfig.Entry{Keyword: "PermitRootLogin",
			Args: []string{"prohibit-password"}}},
		{"passwordauthentication", false, sshdconfig.Entry{Keyword: "passwordauthentication",
			Args: []string{"yes"}}},
		{"AuthorizedKeysFile", true, sshdconfig.Entry{Keyword: "AuthorizedKeysFile",
			Args: []string{".ssh/authorized_keys"}, Line: 42}},
		{"SUBSYSTEM", true, sshdconfig.Entry{Keyword: "Subsystem",
			Args: []string{"sftp", "/usr/libexec/sftp-server"}, Line: 112}},
	}
	for _, tt := range tests {
		t.Run(tt.keyword, func(t *testing.T) {
			if _, ok := c.Lookup(tt.keyword); ok != tt.set {
				t.Errorf("Lookup(%q) set = %v, want %v", tt.keyword, ok, tt.set)
			}
			got, ok := c.Effective(tt.keyword)
			if !ok {
				t.Fatalf("Effective(%q) unknown", tt.keyword)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Effective(%q) (-want +got):\n%s", tt.keyword, diff)
			}
		})
	}
	if c.MatchBlocks != 0 {
		t.Errorf("MatchBlocks = %d; the Match example is commented out", c.MatchBlocks)
	}
}

func TestSemantics(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string
		line   int
	}{
		{"space form", "PermitRootLogin yes\n", "yes", 1},
		{"equals form", "PermitRootLogin=yes\n", "yes", 1},
		{"spaced equals", "PermitRootLogin = no\n", "no", 1},
		{"tab separated", "PermitRootLogin\tno\n", "no", 1},
		{"keyword case", "permitrootlogin yes\n", "yes", 1},
		{"first value wins", "PermitRootLogin no\nPermitRootLogin yes\n", "no", 1},
		{"trailing comment", "PermitRootLogin yes # for now\n", "yes", 1},
		{"comment line", "# PermitRootLogin yes\nPermitRootLogin no\n", "no", 2},
		{"indented", "   PermitRootLogin yes\n", "yes", 1},
		{"quoted", "PermitRootLogin \"yes\"\n", "yes", 1},
		{"match does not change global",
			"Port 22\nMatch User admin\n\tPermitRootLogin yes\n", "prohibit-password", 0},
		{"global before match",
			"PermitRootLogin no\nMatch Address 10.0.0.0/8\nPermitRootLogin yes\n",
			"no", 1},
		{"empty file", "", "prohibit-password", 0},
		{"crlf", "PermitRootLogin yes\r\n", "yes", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sshdconfig.Parse(strings.NewReader(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			e, _ := c.Effective("PermitRootLogin")
			if e.Value() != tt.want || e.Line != tt.line {
				t.Errorf("PermitRootLogin = %q at line %d, want %q at %d",
					e.Value(), e.Line, tt.want, tt.line)
			}
		})
	}
}

func TestInclude(t *testing.T) {
	c, err := sshdconfig.Parse(strings.NewReader(
		"Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/etc/ssh/sshd_config.d/*.conf"}, c.Includes); diff != "" {
		t.Errorf("Includes (-want +got):\n%s", diff)
	}
}

func TestUnterminatedQuote(t *testing.T) {
	if _, err := sshdconfig.Parse(strings.NewReader("Banner \"/etc/issue\n")); err == nil {
		t.Error("Parse accepted an unterminated quote")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("PermitRootLogin yes\nMatch User x\n PasswordAuthentication no\n")
	f.Add("a=\"b c\" # d\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := sshdconfig.Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		if e, ok := c.Lookup("PermitRootLogin"); ok && e.Line < 1 {
			t.Errorf("set keyword at line %d", e.Line)
		}
	})
}

// TestIncludeFiles follows Include as sshd does: in place, globs sorted,
// relative paths under /etc/ssh, and a Match in an included file ending
// with that file.
func TestIncludeFiles(t *testing.T) {
	files := map[string]string{
		"/etc/ssh/sshd_config": "Include sshd_config.d/*.conf\nPermitRootLogin no\n" +
			"X11Forwarding yes\n",
		"/etc/ssh/sshd_config.d/20-b.conf": "PermitRootLogin yes\n",
		"/etc/ssh/sshd_config.d/10-a.conf": "Match User x\nX11Forwarding no\n",
		"/etc/ssh/sshd_config.d/skip.txt":  "PasswordAuthentication no\n",
	}
	c, err := sshdconfig.ParseFiles(files, "/etc/ssh/sshd_config")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		keyword, value, file string
		line                 int
	}{
		{"PermitRootLogin", "yes", "/etc/ssh/sshd_config.d/20-b.conf", 1},
		{"X11Forwarding", "yes", "/etc/ssh/sshd_config", 3},
		{"PasswordAuthentication", "yes", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.keyword, func(t *testing.T) {
			e, _ := c.Effective(tt.keyword)
			if e.Value() != tt.value || e.File != tt.file || e.Line != tt.line {
				t.Errorf("%s = %+v, want %q at %s:%d", tt.keyword, e, tt.value, tt.file, tt.line)
			}
		})
	}
	want := []string{"/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-a.conf",
		"/etc/ssh/sshd_config.d/20-b.conf"}
	if diff := cmp.Diff(want, c.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestIncludeLoop(t *testing.T) {
	files := map[string]string{"/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config\n"}
	if _, err := sshdconfig.ParseFiles(files, "/etc/ssh/sshd_config"); err == nil {
		t.Error("an Include loop was accepted")
	}
}
