package crawler_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/crawler/osrelease"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/distro"
	"crawlspace.dev/services/platform/fixtures"
)

// fixture reads a shared fixture file.
func fixture(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestCrawlPackageDatabases crawls images whose layers carry the real apk
// and rpm databases and release files of the fixtures, a distroless
// status.d and nothing at all.
func TestCrawlPackageDatabases(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		os      osrelease.OS
		eco     string
		count   int
		// pkg is "name version source-name source-version" of one package.
		pkg string
	}{{
		name: "alpine",
		entries: []entry{
			{Name: "etc/os-release", Body: fixture(t, "pkgdb/os-release/alpine-3.10.4.os-release")},
			{Name: "lib/apk/db/installed", Body: fixture(t, "pkgdb/apk/alpine-3.10.4.installed")},
		},
		os:  osrelease.OS{ID: "alpine", VersionID: "3.10.4", Name: "Alpine Linux v3.10"},
		eco: distro.APK, count: 14, pkg: "libcrypto1.1 1.1.1d-r2 openssl 1.1.1d-r2",
	}, {
		name: "mariner sqlite",
		entries: []entry{
			{Name: "etc/os-release",
				Body: fixture(t, "pkgdb/os-release/trivy-mariner-2.0.os-release")},
			{Name: "var/lib/rpm/rpmdb.sqlite",
				Body: fixture(t, "pkgdb/rpm/cbl-mariner-2.0.rpmdb.sqlite")},
		},
		os: osrelease.OS{ID: "mariner", VersionID: "2.0",
			Name: "CBL-Mariner/Linux"},
		eco: distro.RPM, count: 129,
	}, {
		name: "centos bdb with release file only",
		entries: []entry{
			{Name: "etc/centos-release",
				Body: fixture(t, "pkgdb/os-release/trivy-centos.centos-release")},
			{Name: "var/lib/rpm/Packages", Body: fixture(t, "pkgdb/rpm/hello-epoch.Packages")},
		},
		os: osrelease.OS{ID: "centos", VersionID: "7",
			Name: "CentOS Linux release 7.6.1810 (Core)"},
		eco: distro.RPM, count: 1, pkg: "hello 1:0.0.1-rls hello 1:0.0.1-rls",
	}, {
		name: "suse ndb",
		entries: []entry{
			{Name: "usr/lib/sysimage/rpm/Packages.db",
				Body: fixture(t, "pkgdb/rpm/sle15-bci.Packages.db")},
		},
		eco: distro.RPM, count: -1,
	}, {
		name: "distroless",
		entries: []entry{
			{Name: "etc/os-release", Body: fixture(t,
				"pkgdb/os-release/claircore-distroless-debian-11.os-release")},
			{Name: "var/lib/dpkg/status.d/base", Body: "Package: base-files\n" +
				"Version: 11.1+deb11u9\nArchitecture: amd64\n"},
			{Name: "var/lib/dpkg/status.d/base.md5sums", Body: "0123 etc/debian_version\n"},
			{Name: "var/lib/dpkg/status.d/tzdata", Body: "Package: tzdata\n" +
				"Version: 2024a-0+deb11u1\nArchitecture: all\n"},
		},
		os: osrelease.OS{ID: "debian", VersionID: "11", Codename: "bullseye",
			Name: "Distroless", Variant: osrelease.VariantDistroless},
		eco: distro.Dpkg, count: 2, pkg: "tzdata 2024a-0+deb11u1 tzdata 2024a-0+deb11u1",
	}, {
		name:    "scratch",
		entries: []entry{{Name: "app", Body: "#!/app\n", Mode: 0o755}},
		os:      osrelease.OS{Variant: osrelease.VariantScratch},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := crawlLayout(t, gzLayer(t, entry{Name: "etc/"}), gzLayer(t, tt.entries...))
			if err != nil {
				t.Fatal(err)
			}
			if tt.os != (osrelease.OS{}) && img.OS != tt.os {
				t.Errorf("OS = %+v, want %+v", img.OS, tt.os)
			}
			if tt.count >= 0 && len(img.Packages) != tt.count {
				t.Errorf("got %d packages, want %d", len(img.Packages), tt.count)
			}
			found := tt.pkg == ""
			for _, p := range img.Packages {
				if p.Ecosystem != tt.eco || p.Layer != img.Layers[1].Digest {
					t.Errorf("package %+v: want ecosystem %s in the second layer", p, tt.eco)
				}
				line := strings.Join([]string{p.Name, p.Version, p.SourceName,
					p.SourceVersion}, " ")
				found = found || line == tt.pkg
			}
			if !found {
				t.Errorf("no package %q", tt.pkg)
			}
		})
	}
}

// TestCrawlPackageAttribution checks that a package is attributed to the
// layer that introduced its version, not the one that last rewrote the
// database, and that a whited-out database takes its packages along.
func TestCrawlPackageAttribution(t *testing.T) {
	const a = "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n"
	const b1 = "Package: b\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n"
	const b2 = "Package: b\nStatus: install ok installed\nVersion: 2\nArchitecture: all\n\n"
	img, err := crawlLayout(t,
		gzLayer(t, entry{Name: "var/lib/dpkg/status", Body: a + b1}),
		gzLayer(t, entry{Name: "var/lib/dpkg/status", Body: a + b2},
			entry{Name: "lib/apk/db/installed", Body: "P:musl\nV:1.2.4-r2\n"}),
		gzLayer(t, entry{Name: "lib/apk/db/.wh.installed"}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range img.Packages {
		got[p.Name+" "+p.Version] = p.Layer
	}
	want := map[string]string{"a 1": img.Layers[0].Digest, "b 2": img.Layers[1].Digest}
	if len(got) != len(want) || got["a 1"] != want["a 1"] || got["b 2"] != want["b 2"] {
		t.Errorf("packages by layer %v, want %v", got, want)
	}
}

func TestRedactConfig(t *testing.T) {
	cfg := `{"architecture":"amd64","config":{"User":"app","Env":["PATH=/usr/bin",` +
		`"DB_PASSWORD=hunter2","GITHUB_TOKEN=x","AWS_REGION=eu-west-1","SSH_KEY=k",` +
		`"NOTE=-----BEGIN RSA PRIVATE KEY-----abc","URL=https://u:p4ss@h/x","EMPTY_SECRET="]}}`
	out := string(crawler.RedactConfig([]byte(cfg)))
	for _, want := range []string{`"PATH=/usr/bin"`, `"DB_PASSWORD=\u003credacted\u003e"`,
		`"GITHUB_TOKEN=\u003credacted\u003e"`, `"AWS_REGION=\u003credacted\u003e"`,
		`"SSH_KEY=\u003credacted\u003e"`, `"NOTE=\u003credacted\u003e"`,
		`"URL=\u003credacted\u003e"`, `"EMPTY_SECRET="`, `"User":"app"`,
		`"architecture":"amd64"`} {
		if !strings.Contains(out, want) {
			t.Errorf("redacted config lacks %s: %s", want, out)
		}
	}
	for _, secret := range []string{"hunter2", "p4ss", "PRIVATE KEY"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted config still holds %q", secret)
		}
	}
	if plain := `{"config":{"Env":["PATH=/bin"]}}`; string(crawler.RedactConfig(
		[]byte(plain))) != plain {
		t.Error("a config without secrets changed")
	}
}

// TestCrawlLimits builds hostile layers and checks that each ends in a
// clear error under small limits.
func TestCrawlLimits(t *testing.T) {
	bomb := ocitest.Gzip(t, ocitest.Tar(t, entry{Name: "zeros",
		Body: strings.Repeat("\x00", 8<<20)}))
	many := make([]entry, 200)
	for i := range many {
		many[i] = entry{Name: "f/" + strings.Repeat("x", i%50+1) + string(rune('a'+i%26)) +
			strings.Repeat("y", i/26)}
	}
	var hugeHdr bytes.Buffer
	tw := tar.NewWriter(&hugeHdr)
	// A PAX extended header of 2 MiB, more than archive/tar reads for one:
	// a regular member whose type flag is patched to 'x' below.
	if err := tw.WriteHeader(&tar.Header{Name: "pax", Typeflag: tar.TypeReg,
		Size: 2 << 20, Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bytes.Repeat([]byte("a"), 2<<20)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	patchType(hugeHdr.Bytes()[:512], tar.TypeXHeader)
	tests := []struct {
		name   string
		layer  ocitest.Layer
		limits crawler.Limits
		isErr  error
		says   string
	}{
		{"gzip bomb", ocitest.Layer{MediaType: ocitest.MediaTarGzip, Blob: bomb},
			crawler.Limits{ImageBytes: 1 << 20}, crawler.ErrLimit, "uncompressed bytes"},
		{"too many files", gzLayer(t, many...), crawler.Limits{ImageFiles: 100},
			crawler.ErrLimit, "more than 100 files"},
		{"package database over its limit", gzLayer(t, entry{Name: "var/lib/dpkg/status",
			Body: strings.Repeat("Package: x\n", 1000)}), crawler.Limits{PackageDBSize: 1000},
			crawler.ErrLimit, "captured file too large"},
		{"huge tar header", ocitest.Layer{MediaType: ocitest.MediaTar,
			Blob: hugeHdr.Bytes()}, crawler.Limits{}, crawler.ErrUnreadable, "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := ocitest.Write(t, t.TempDir(), "x", "", tt.layer)
			_, err := crawler.Crawl(t.Context(), ref, crawler.CrawlOptions{Limits: tt.limits})
			if !errors.Is(err, tt.isErr) || !crawler.IsPermanent(err) ||
				!strings.Contains(err.Error(), tt.says) {
				t.Errorf("Crawl = %v, want %v saying %q", err, tt.isErr, tt.says)
			}
		})
	}
}

// patchType sets a tar header block's type flag and checksum.
func patchType(hdr []byte, flag byte) {
	hdr[156] = flag
	copy(hdr[148:156], "        ")
	sum := 0
	for _, b := range hdr {
		sum += int(b)
	}
	copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
}
