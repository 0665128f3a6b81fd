package accounts_test

import (
	"os"
	"strings"
	"testing"

	"crawlspace.dev/services/platform/fixtures"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/compliance/accounts"
)

// TestAlpine reads the real /etc of alpine:3.10, whose shadow has no
// hashes: root is "root:!::0:::::", locked and not empty.
func TestAlpine(t *testing.T) {
	passwd := read(t, fixtures.Path(t, "configs/alpine-3.10.4-etc/passwd"))
	shadow := read(t, fixtures.Path(t, "configs/alpine-3.10.4-etc/shadow"))
	got := accounts.Parse(passwd, shadow)
	if len(got) != 28 {
		t.Fatalf("got %d accounts, want 28", len(got))
	}
	want := accounts.Account{Name: "root", UID: 0, Shell: "/bin/ash", State: accounts.Locked,
		Line: 1, Aging: accounts.Aging{Line: 1, LastChange: -1, MinDays: 0, MaxDays: -1,
			WarnDays: -1, InactiveDays: -1, Expire: -1}}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("root (-want +got):\n%s", diff)
	}
	for _, a := range got {
		if a.State != accounts.Locked {
			t.Errorf("%s is %s, want locked", a.Name, a.State)
		}
	}
	if n := got[len(got)-1]; n.Name != "nobody" || n.UID != 65534 {
		t.Errorf("last account = %+v, want nobody 65534", n)
	}
}

func TestStates(t *testing.T) {
	tests := []struct {
		name   string
		passwd string
		shadow string
		want   accounts.State
	}{
		{"redacted empty", "u:x:1000:1000::/home/u:/bin/sh", "u::19000:0:99999:7:::",
			accounts.Empty},
		{"redacted locked", "u:x:1000:1000::/home/u:/bin/sh", "u:!:19000::::::", accounts.Locked},
		{"redacted star", "u:x:1000:1000::/home/u:/bin/sh", "u:*:19000::::::", accounts.Locked},
		{"redacted hash", "u:x:1000:1000::/home/u:/bin/sh", "u:<hashed>:19000::::::",
			accounts.Hashed},
		{"raw hash", "u:x:1000:1000::/home/u:/bin/sh", "u:$6$salt$abc:19000::::::",
			accounts.Hashed},
		{"raw locked hash", "u:x:1000:1000::/home/u:/bin/sh", "u:!$6$salt$abc:19000::::::",
			accounts.Locked},
		{"passwd empty no shadow", "u::1000:1000::/home/u:/bin/sh", "", accounts.Empty},
		{"passwd empty wins over shadow", "u::1000:1000::/home/u:/bin/sh",
			"u:<hashed>:19000::::::", accounts.Empty},
		{"passwd x without shadow entry", "u:x:1000:1000::/home/u:/bin/sh", "", accounts.Locked},
		{"passwd star", "u:*:1000:1000::/home/u:/bin/sh", "", accounts.Locked},
		{"passwd hash", "u:abcdefgh:1000:1000::/home/u:/bin/sh", "", accounts.Hashed},
		{"crlf", "u:x:1000:1000::/home/u:/bin/sh\r\n", "u::1::::::\r\n", accounts.Empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := accounts.Parse(tt.passwd, tt.shadow)
			if len(got) != 1 {
				t.Fatalf("got %d accounts, want 1", len(got))
			}
			if got[0].State != tt.want {
				t.Errorf("state = %s, want %s", got[0].State, tt.want)
			}
		})
	}
}

func TestSkipsMalformed(t *testing.T) {
	got := accounts.Parse("# comment\nshort:x:1\n\nok:x:7:7::/:/bin/sh\n", "")
	if len(got) != 1 || got[0].Name != "ok" || got[0].Line != 4 {
		t.Errorf("accounts = %+v, want only ok at line 4", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("root:x:0:0:root:/root:/bin/sh\n", "root:!::0:::::\n")
	f.Fuzz(func(t *testing.T, passwd, shadow string) {
		for _, a := range accounts.Parse(passwd, shadow) {
			switch a.State {
			case accounts.Empty, accounts.Locked, accounts.Hashed:
			default:
				t.Errorf("account %q has state %q", a.Name, a.State)
			}
		}
	})
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGroups reads alpine:3.10's /etc/group, whose groups defer to a
// gshadow the image does not have.
func TestGroups(t *testing.T) {
	group := read(t, fixtures.Path(t, "configs/alpine-3.10.4-etc/group"))
	got := accounts.ParseGroups(group, "")
	if len(got) < 20 {
		t.Fatalf("%d groups", len(got))
	}
	want := accounts.Group{Name: "bin", GID: 1, Members: []string{"root", "bin", "daemon"},
		State: accounts.Locked, Line: 2}
	if diff := cmp.Diff(want, got[1]); diff != "" {
		t.Errorf("bin (-want +got):\n%s", diff)
	}
	tests := []struct {
		name, group, gshadow string
		want                 accounts.State
	}{
		{"gshadow empty", "g:x:5:\n", "g:::\n", accounts.Empty},
		{"gshadow locked", "g:x:5:\n", "g:!::\n", accounts.Locked},
		{"group field empty, no gshadow", "g::5:\n", "", accounts.Empty},
		{"hashed", "g:x:5:\n", "g:<hashed>::\n", accounts.Hashed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g := accounts.ParseGroups(tt.group, tt.gshadow); g[0].State != tt.want {
				t.Errorf("state %s, want %s", g[0].State, tt.want)
			}
		})
	}
}

func FuzzParseGroups(f *testing.F) {
	f.Add("root:x:0:\nadm:x:4:root,adm\n", "root:*::\n")
	f.Fuzz(func(t *testing.T, group, gshadow string) {
		for _, g := range accounts.ParseGroups(group, gshadow) {
			if g.Name == "" || g.Line < 1 {
				t.Errorf("group %+v", g)
			}
		}
	})
}

// TestAging reads the ageing fields the crawler's redacted shadow keeps.
func TestAging(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
	unset := accounts.Aging{LastChange: -1, MinDays: -1, MaxDays: -1, WarnDays: -1,
		InactiveDays: -1, Expire: -1}
	tests := []struct {
		name, shadow string
		want         accounts.Aging
	}{
		{"debian defaults", "root:*:20790:0:99999:7:::\nalice:<hashed>:20000:1:90:14:30:21000:\n",
			accounts.Aging{Line: 2, LastChange: 20000, MinDays: 1, MaxDays: 90, WarnDays: 14,
				InactiveDays: 30, Expire: 21000}},
		{"empty fields", "alice:<hashed>::::::\n",
			accounts.Aging{Line: 1, LastChange: -1, MinDays: -1, MaxDays: -1, WarnDays: -1,
				InactiveDays: -1, Expire: -1}},
		{"short line", "alice:<hashed>:19000\n",
			accounts.Aging{Line: 1, LastChange: 19000, MinDays: -1, MaxDays: -1, WarnDays: -1,
				InactiveDays: -1, Expire: -1}},
		{"first entry counts", "alice::1:2:3:4:::\nalice::5:6:7:8:::\n",
			accounts.Aging{Line: 1, LastChange: 1, MinDays: 2, MaxDays: 3, WarnDays: 4,
				InactiveDays: -1, Expire: -1}},
		{"not a number", "alice:!:x:y:forever:7:::\n",
			accounts.Aging{Line: 1, LastChange: -1, MinDays: -1, MaxDays: -1, WarnDays: 7,
				InactiveDays: -1, Expire: -1}},
		{"no entry", "root:*:20790:0:99999:7:::\n", unset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := accounts.Parse(passwd, tt.shadow)
			if len(got) != 2 {
				t.Fatalf("got %d accounts, want 2", len(got))
			}
			if diff := cmp.Diff(tt.want, got[1].Aging); diff != "" {
				t.Errorf("alice's ageing (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzAging checks that any shadow file parses, and that each ageing line
// points into it.
func FuzzAging(f *testing.F) {
	f.Add("root:*:20790:0:99999:7:::\n")
	f.Add("root:<hashed>:::::::\n:\n\n")
	f.Fuzz(func(t *testing.T, shadow string) {
		lines := strings.Count(shadow, "\n") + 1
		for _, a := range accounts.Parse("root:x:0:0::/root:/bin/sh\n", shadow) {
			if a.Aging.Line < 0 || a.Aging.Line > lines {
				t.Errorf("ageing line %d of a %d-line shadow", a.Aging.Line, lines)
			}
		}
	})
}
