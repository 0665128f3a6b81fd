package hub_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crawlspace.dev/services/collector/hub"
	"crawlspace.dev/services/collector/hub/hubtest"
)

func TestParsePullText(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1B+", 1_000_000_000, true},
		{"100M+", 100_000_000, true},
		{"10M+", 10_000_000, true},
		{"500K+", 500_000, true},
		{" 1.2M ", 1_200_000, true},
		{"9,876", 9876, true},
		{"42", 42, true},
		{"1.5", 0, false},
		{"10X+", 0, false},
		{"1,23", 0, false},
		{"", 0, false},
		{"+", 0, false},
		{"99999999999999999999B", 0, false},
		{"9999999999B+", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := hub.ParsePullText(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParsePullText(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseRepositoryPage(t *testing.T) {
	tests := []struct {
		file string
		n    int64
		text string
		err  error
	}{
		{"page-nginx.html", 1_000_000_000, "1B+", nil},
		{"page-tool.html", 9876, "9,876", nil},
		{"page-empty.html", 0, "", hub.ErrNoPullCount},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			n, text, err := hub.ParseRepositoryPage(f)
			if n != tt.n || text != tt.text || !errors.Is(err, tt.err) {
				t.Errorf("got %d %q %v, want %d %q %v", n, text, err, tt.n, tt.text, tt.err)
			}
			if n > 0 && hub.Bucket(n) != text && text != "9,876" {
				t.Errorf("bucket of %d is %q, page shows %q", n, hub.Bucket(n), text)
			}
		})
	}
}

func TestClientReadsPages(t *testing.T) {
	s := hubtest.Start(t, "testdata")
	c := client(t, s)

	names, err := c.OfficialPage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nginx", "redis", "hello-world"}; !slices.Equal(names, want) {
		t.Errorf("official names %q, want %q", names, want)
	}
	tests := []struct {
		path, text string
		n          int64
	}{
		{"library/nginx", "1B+", 1_000_000_000},
		{"someone/tool", "9,876", 9876},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			n, text, err := c.RepositoryPage(t.Context(), tt.path)
			if err != nil || n != tt.n || text != tt.text {
				t.Errorf("got %d %q %v, want %d %q", n, text, err, tt.n, tt.text)
			}
		})
	}
	if _, _, err := c.RepositoryPage(t.Context(), "nobody/missing"); err == nil ||
		!strings.Contains(err.Error(), "Not Found") {
		t.Errorf("a missing page: %v, want Not Found", err)
	}
}

func FuzzParseRepositoryPage(f *testing.F) {
	for _, name := range []string{"page-nginx.html", "page-tool.html", "page-empty.html",
		"page-official.html"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("<p>Pulls <b>1B+</b></p>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, text, err := hub.ParseRepositoryPage(strings.NewReader(string(data)))
		if err != nil {
			if n != 0 || text != "" {
				t.Fatalf("error %v with %d %q", err, n, text)
			}
		} else if v, ok := hub.ParsePullText(text); !ok || v != n || n < 0 {
			t.Fatalf("page count %d from %q, which reads as %d, %v", n, text, v, ok)
		}
		names, err := hub.ParseOfficialPage(strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if name == "" || strings.ContainsAny(name, "/ \\") {
				t.Fatalf("official name %q", name)
			}
		}
	})
}

func FuzzParsePullText(f *testing.F) {
	for _, s := range []string{"1B+", "10M+", "1.2K", "9,876", "0", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := hub.ParsePullText(s)
		if ok && n < 0 {
			t.Fatalf("%q reads as %d", s, n)
		}
		if !ok && n != 0 {
			t.Fatalf("%q rejected with %d", s, n)
		}
	})
}
