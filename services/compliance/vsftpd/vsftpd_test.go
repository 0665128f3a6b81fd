package vsftpd_test

import (
	"os"
	"testing"

	"crawlspace.dev/services/compliance/vsftpd"
	"crawlspace.dev/services/platform/fixtures"
)

// TestSamples reads vsftpd's sample and example configurations.
func TestSamples(t *testing.T) {
	tests := []struct {
		file, option string
		want         bool
		line         bool
	}{
		{"configs/vsftpd/vsftpd.conf", "anonymous_enable", true, true},
		{"configs/vsftpd/vsftpd.conf", "ssl_enable", false, false},
		{"configs/vsftpd/vsftpd.conf", "anon_upload_enable", false, false},
		{"configs/vsftpd/EXAMPLE-VIRTUAL_USERS.vsftpd.conf", "anonymous_enable", false, true},
		{"configs/vsftpd/EXAMPLE-INTERNET_SITE.vsftpd.conf", "anonymous_enable", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.option, func(t *testing.T) {
			b, err := os.ReadFile(fixtures.Path(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			c := vsftpd.Parse(string(b))
			s := c.Settings[tt.option]
			if s.Bool() != tt.want || (s.Line > 0) != tt.line {
				t.Errorf("%s = %+v, want %v set %v", tt.option, s, tt.want, tt.line)
			}
			if len(c.Invalid) != 0 {
				t.Errorf("invalid lines %v in a shipped sample", c.Invalid)
			}
		})
	}
}

func TestSemantics(t *testing.T) {
	tests := []struct {
		name, text string
		want       bool
		invalid    int
	}{
		{"last wins", "anonymous_enable=YES\nanonymous_enable=NO\n", false, 0},
		{"true", "anonymous_enable=true\n", true, 0},
		{"one", "anonymous_enable=1\n", true, 0},
		{"lowercase yes", "anonymous_enable=yes\n", true, 0},
		{"spaces are an error", "anonymous_enable = YES\n", false, 1},
		{"comment", "#anonymous_enable=YES\n", false, 0},
		{"option case matters", "Anonymous_Enable=YES\n", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vsftpd.Parse(tt.text)
			if got := c.Settings["anonymous_enable"].Bool(); got != tt.want ||
				len(c.Invalid) != tt.invalid {
				t.Errorf("anonymous_enable %v invalid %v, want %v and %d", got, c.Invalid,
					tt.want, tt.invalid)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("listen=YES\nanonymous_enable=NO\n")
	f.Fuzz(func(t *testing.T, s string) {
		c := vsftpd.Parse(s)
		for k, v := range c.Settings {
			if k == "" || v.Line < 0 {
				t.Errorf("setting %q at line %d", k, v.Line)
			}
		}
	})
}
