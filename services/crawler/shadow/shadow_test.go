package shadow_test

import (
	"os"
	"strings"
	"testing"

	"crawlspace.dev/services/crawler/shadow"
	"crawlspace.dev/services/platform/fixtures"
)

func TestRedactAlpine(t *testing.T) {
	data, err := os.ReadFile(fixtures.Path(t, "configs/alpine-3.10.4-etc/shadow"))
	if err != nil {
		t.Fatal(err)
	}
	// alpine:3.10 holds no hashes: every account is locked or disabled, so
	// redaction must give back the file unchanged.
	got := shadow.Redact(string(data))
	if got != string(data) {
		t.Errorf("Redact changed a hash-free shadow:\n%s", got)
	}
	if !strings.HasPrefix(got, "root:!::0:::::\n") {
		t.Errorf("root line = %q, want the locked root of alpine 3.10.4",
			strings.SplitN(got, "\n", 2)[0])
	}
}

func TestRedact(t *testing.T) {
	// Hashes in the formats glibc's crypt writes: sha512, yescrypt, md5 and
	// a traditional DES hash.
	const (
		sha512 = "$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP2" +
			"2JZ6EY47Wc6BkroIuUUBOov1i.S5KPgErtP/EN5mcO.ChWQW21"
		yescrypt = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7"
		md5      = "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"
		des      = "abJnggxhB/yWI"
	)
	tests := []struct {
		name, in, want string
		secret         string
	}{
		{"sha512", "root:" + sha512 + ":19000:0:99999:7:::",
			"root:<hashed>:19000:0:99999:7:::", sha512},
		{"yescrypt", "user:" + yescrypt + ":19800:0:99999:7:::",
			"user:<hashed>:19800:0:99999:7:::", yescrypt},
		{"md5", "old:" + md5 + ":1:::::", "old:<hashed>:1:::::", md5},
		{"des", "des:" + des + ":::::::", "des:<hashed>:::::::", des},
		{"locked hash", "bob:!" + sha512 + ":19000::::::", "bob:!:19000::::::", sha512},
		{"locked", "daemon:!::0:::::", "daemon:!::0:::::", ""},
		{"double bang", "svc:!!:19000::::::", "svc:!:19000::::::", ""},
		{"disabled", "bin:*:19000:0:99999:7:::", "bin:*:19000:0:99999:7:::", ""},
		{"empty", "root::19000:0:99999:7:::", "root::19000:0:99999:7:::", ""},
		{"two fields", "root:" + md5, "root:<hashed>", md5},
		{"no colon", sha512, "", sha512},
		{"blank", "", "", ""},
		{"several lines", "a:" + md5 + ":1\nb:*:2\n", "a:<hashed>:1\nb:*:2\n", md5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shadow.Redact(tt.in)
			if got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if tt.secret != "" && strings.Contains(got, tt.secret) {
				t.Errorf("Redact kept the hash: %q", got)
			}
			if strings.Contains(got, "$") {
				t.Errorf("Redact left a crypt marker: %q", got)
			}
		})
	}
}
