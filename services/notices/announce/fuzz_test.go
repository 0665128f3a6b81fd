package announce_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/announce"
)

func seedPages(f *testing.F, glob string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed pages %s: %v", glob, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// fuzzParse checks that a parser never panics and that every notice it
// accepts has an id of its source and only fixed entries with a package
// and a version.
func fuzzParse(f *testing.F, source, prefix string,
	parse func([]byte, string) (advisory.Notice, bool, error)) {
	f.Fuzz(func(t *testing.T, page []byte) {
		n, ok, err := parse(page, "fuzz.html")
		if err != nil || !ok {
			return
		}
		if n.Source != source || !strings.HasPrefix(n.ID, prefix) {
			t.Errorf("notice %s from %s, want a %s id from %s", n.ID, n.Source, prefix, source)
		}
		for _, a := range n.Affected {
			if a.Status != advisory.StatusFixed || a.Package == "" || a.FixedVersion == "" {
				t.Errorf("%s: affected %+v, want a fixed package and version", n.ID, a)
			}
		}
	})
}

func FuzzParseDebian(f *testing.F) {
	seedPages(f, "debian-security-announce/*/msg*.html")
	fuzzParse(f, announce.SourceDebian, "DSA-", announce.ParseDebian)
}

func FuzzParseCentOS(f *testing.F) {
	seedPages(f, "centos-announce/*/0*.html")
	fuzzParse(f, announce.SourceCentOS, "CESA-", announce.ParseCentOS)
}
