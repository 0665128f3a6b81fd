package osrelease_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler/osrelease"
	"crawlspace.dev/services/platform/fixtures"
)

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file string
		want osrelease.OS
	}{
		{"claircore-debian-12.os-release", osrelease.OS{
			ID: "debian", VersionID: "12", Codename: "bookworm",
			Name: "Debian GNU/Linux 12 (bookworm)",
		}},
		{"claircore-debian-8.os-release", osrelease.OS{
			ID: "debian", VersionID: "8", Codename: "jessie",
			Name: "Debian GNU/Linux 8 (jessie)",
		}},
		{"claircore-ubuntu-22.04.os-release", osrelease.OS{
			ID: "ubuntu", VersionID: "22.04", Codename: "jammy", Name: "Ubuntu 22.04 LTS",
		}},
		{"claircore-ubuntu-14.04.os-release", osrelease.OS{
			ID: "ubuntu", VersionID: "14.04", Name: "Ubuntu 14.04.6 LTS",
		}},
		{"alpine-3.10.4.os-release", osrelease.OS{
			ID: "alpine", VersionID: "3.10.4", Name: "Alpine Linux v3.10",
		}},
		{"trivy-no-id.os-release", osrelease.OS{
			VersionID: "3.15.4", Name: "Alpine Linux v3.15",
		}},
		{"trivy-no-version.os-release", osrelease.OS{
			ID: "alpine", Name: "Alpine Linux v3.15",
		}},
		{"trivy-unknown.os-release", osrelease.OS{ID: "unknown", VersionID: "4.3.2"}},
		// lsb-release uses other keys: nothing an os-release reader knows.
		{"trivy-ubuntu.lsb-release", osrelease.OS{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(fixtures.Path(t, "pkgdb/os-release/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, osrelease.Parse(string(data))); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVars(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"double quotes", `NAME="Debian GNU/Linux"`, map[string]string{"NAME": "Debian GNU/Linux"}},
		{"single quotes", `NAME='a "b" \c'`, map[string]string{"NAME": `a "b" \c`}},
		{"escapes", `X="a \"q\" \\ \$HOME \` + "`" + `x\n"`,
			map[string]string{"X": `a "q" \ $HOME ` + "`" + `x\n`}},
		{"unquoted escape", `X=a\ b`, map[string]string{"X": "a b"}},
		{"comment", "# ID=nope\nID=yes # trailing\n", map[string]string{"ID": "yes"}},
		{"hash in value", `ID=a#b`, map[string]string{"ID": "a#b"}},
		{"blank and junk", "\n\njunk line\n=x\n1X=y\nID=ok\n", map[string]string{"ID": "ok"}},
		{"later wins", "ID=a\nID=b", map[string]string{"ID": "b"}},
		{"crlf", "ID=debian\r\nVERSION_ID=\"12\"\r\n",
			map[string]string{"ID": "debian", "VERSION_ID": "12"}},
		{"unterminated", `NAME="open`, map[string]string{"NAME": "open"}},
		{"empty value", `ID=`, map[string]string{"ID": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, osrelease.Vars(tt.in)); diff != "" {
				t.Errorf("Vars(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir(fixtures.Path(f, "pkgdb/os-release"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(fixtures.Path(f, "pkgdb/os-release/"+e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, content string) {
		got := osrelease.Parse(content)
		vars := osrelease.Vars(content)
		if got.ID != vars["ID"] || got.VersionID != vars["VERSION_ID"] {
			t.Errorf("Parse = %+v disagrees with Vars", got)
		}
	})
}
