package logindefs_test

import (
	"os"
	"testing"

	"crawlspace.dev/services/compliance/logindefs"
	"crawlspace.dev/services/platform/fixtures"
)

// TestUpstream reads shadow-utils' own login.defs, which sets UMASK and
// LOGIN_RETRIES but leaves PASS_MAX_DAYS and ENCRYPT_METHOD out.
func TestUpstream(t *testing.T) {
	b, err := os.ReadFile(fixtures.Path(t, "configs/shadow/login.defs"))
	if err != nil {
		t.Fatal(err)
	}
	got := logindefs.Parse(string(b))
	tests := []struct {
		name, want string
		set        bool
	}{
		{"UMASK", "022", true},
		{"LOGIN_RETRIES", "5", true},
		{"PASS_MAX_DAYS", "", false},
		{"ENCRYPT_METHOD", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := got[tt.name]
			if ok != tt.set || s.Value != tt.want || (ok && s.Line < 1) {
				t.Errorf("%s = %+v set %v, want %q set %v", tt.name, s, ok, tt.want, tt.set)
			}
		})
	}
}

func TestSemantics(t *testing.T) {
	tests := []struct {
		name, text, key, want string
	}{
		{"tab separated", "UMASK\t027\n", "UMASK", "027"},
		{"last wins", "UMASK 022\nUMASK 077\n", "UMASK", "077"},
		{"quoted", "ENV_PATH \"PATH=/bin:/usr/bin\"\n", "ENV_PATH", "PATH=/bin:/usr/bin"},
		{"comment", "#UMASK 000\n", "UMASK", ""},
		{"case sensitive", "umask 000\n", "UMASK", ""},
		{"equals", "UMASK=027\n", "UMASK", "027"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logindefs.Parse(tt.text)[tt.key].Value; got != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("UMASK 022\nPASS_MAX_DAYS\t99999\n")
	f.Add("X \"a b")
	f.Fuzz(func(t *testing.T, s string) {
		for k, v := range logindefs.Parse(s) {
			if k == "" || v.Line < 1 {
				t.Errorf("setting %q at line %d", k, v.Line)
			}
		}
	})
}
