package osrelease_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler/osrelease"
	fx "crawlspace.dev/services/platform/fixtures"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // image path to fixture under pkgdb/os-release
		want  osrelease.OS
		found bool
	}{
		{"debian 12", map[string]string{osrelease.PathUsrLib: "claircore-debian-12.os-release"},
			osrelease.OS{ID: "debian", VersionID: "12", Codename: "bookworm",
				Name: "Debian GNU/Linux 12 (bookworm)"}, true},
		{"distroless", map[string]string{
			osrelease.PathEtc: "claircore-distroless-debian-11.os-release"},
			osrelease.OS{ID: "debian", VersionID: "11", Codename: "bullseye", Name: "Distroless",
				Variant: osrelease.VariantDistroless}, true},
		{"debian_version only", map[string]string{
			osrelease.PathDebianVersion: "trivy-debian_9.debian_version"},
			osrelease.OS{ID: "debian", VersionID: "9"}, true},
		{"sid", map[string]string{
			osrelease.PathDebianVersion: "trivy-debian_sid.debian_version"},
			osrelease.OS{ID: "debian", Codename: "buster"}, true},
		{"rhel 7 release file", map[string]string{
			osrelease.PathRedHatRelease: "claircore-rhel-7.redhat-release"},
			osrelease.OS{ID: "rhel", VersionID: "7",
				Name: "Red Hat Enterprise Linux Server release 7.4 (Maipo)"}, true},
		{"centos release file", map[string]string{
			osrelease.PathCentOSRelease: "trivy-centos.centos-release"},
			osrelease.OS{ID: "centos", VersionID: "7",
				Name: "CentOS Linux release 7.6.1810 (Core)"}, true},
		{"alpine os-release wins", map[string]string{
			osrelease.PathEtc:           "claircore-alpine-3.18.os-release",
			osrelease.PathDebianVersion: "trivy-debian_9.debian_version"},
			osrelease.OS{ID: "alpine", VersionID: "3.18.4",
				Name: "Alpine Linux v3.18"}, true},
		{"nothing", map[string]string{}, osrelease.OS{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := map[string]string{}
			for p, f := range tt.files {
				data, err := os.ReadFile(fx.Path(t, "pkgdb/os-release/"+f))
				if err != nil {
					t.Fatal(err)
				}
				content[p] = string(data)
			}
			got, found := osrelease.Detect(func(p string) (string, bool) {
				c, ok := content[p]
				return c, ok
			})
			if found != tt.found {
				t.Errorf("found = %v, want %v", found, tt.found)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OS mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAlpineRelease(t *testing.T) {
	for in, want := range map[string]osrelease.OS{
		"3.18.4\n": {ID: "alpine", VersionID: "3.18.4"}, "": {}, "not a version": {},
	} {
		t.Run(in, func(t *testing.T) {
			if got := osrelease.ParseAlpineRelease(in); got != want {
				t.Errorf("ParseAlpineRelease(%q) = %+v", in, got)
			}
		})
	}
}

func FuzzDetect(f *testing.F) {
	f.Add("ID=debian\n", "12.5\n", "CentOS Linux release 7.6.1810 (Core)\n")
	f.Fuzz(func(t *testing.T, osr, debian, redhat string) {
		files := map[string]string{osrelease.PathEtc: osr,
			osrelease.PathDebianVersion: debian, osrelease.PathRedHatRelease: redhat}
		_, _ = osrelease.Detect(func(p string) (string, bool) {
			c, ok := files[p]
			return c, ok
		})
	})
}
