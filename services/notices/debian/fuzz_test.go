package debian_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/debian"
)

// seedLines returns the first n lines of a fixture list.
func seedLines(f *testing.F, name string, n int) string {
	f.Helper()
	file, err := os.Open(fixtures(f, name))
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var b strings.Builder
	sc := bufio.NewScanner(file)
	for i := 0; i < n && sc.Scan(); i++ {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return b.String()
}

func FuzzParseList(f *testing.F) {
	edge, err := os.ReadFile(fixtures(f, "DSA-list.edgecases"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(edge))
	f.Add(seedLines(f, "DSA-list", 200))
	f.Add(seedLines(f, "DLA-list", 200))
	f.Add("[17 Mar 2023] DSA-5356-2 sox - regression update\n" +
		"\t{ CVE-2006-0467 }\n\t[buster] - sox <not-affected> (code not present)\n" +
		"  [woody] - a <postponed>\n\tNOTE: x\n[07 Jun 2015] DSA-3281-1 key change\n")
	f.Add("\t[sid] - x 1\n[bad] DSA-1 x\n[01 Jan 2020] DSA-1-1  - y\n\t[sid] - x 1 (a\n")

	f.Fuzz(func(t *testing.T, input string) {
		r := debian.NewReader(strings.NewReader(input), "fuzz")
		var good, malformed int
		for {
			n, err := r.Next()
			var re *debian.RecordError
			switch {
			case err == nil:
				good++
				checkNotice(t, n)
				continue
			case errors.As(err, &re):
				malformed++
				if re.Name != "fuzz" || re.Line < 1 {
					t.Fatalf("record error without position: %v", re)
				}
				continue
			case !errors.Is(err, io.EOF):
				t.Fatalf("Next on a string reader = %v", err)
			}
			break
		}
		if s := r.Stats(); s.Notices != good || s.Malformed != malformed {
			t.Fatalf("stats %+v, counted %d good and %d malformed", s, good, malformed)
		}
	})
}

// checkNotice asserts what every parsed notice must satisfy.
func checkNotice(t *testing.T, n advisory.Notice) {
	t.Helper()
	if err := n.Validate(); err != nil {
		t.Fatalf("parsed notice does not validate: %v", err)
	}
	if !strings.HasPrefix(n.ID, "DSA-") && !strings.HasPrefix(n.ID, "DLA-") {
		t.Fatalf("id %q", n.ID)
	}
	if want := "debian-" + strings.ToLower(n.ID[:3]); n.Source != want {
		t.Fatalf("source %q for %s, want %s", n.Source, n.ID, want)
	}
	if n.Published.Location() != time.UTC || n.Published.Truncate(24*time.Hour) != n.Published {
		t.Fatalf("published %v is not UTC midnight", n.Published)
	}
	if n.ContentHash() != n.ContentHash() {
		t.Fatal("content hash is not stable")
	}
	for _, a := range n.Affected {
		if a.Ecosystem != advisory.EcosystemDpkg || strings.ContainsAny(a.FixedVersion, " \t") {
			t.Fatalf("affected %+v", a)
		}
	}
}
