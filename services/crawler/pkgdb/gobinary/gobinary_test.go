package gobinary_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler/pkgdb/gobinary"
)

// TestReadBinary reads the build info of a real Go binary, goimports,
// which links golang.org/x modules, and compares it with `go version -m`.
func TestReadBinary(t *testing.T) {
	gobin, err := exec.LookPath("goimports")
	if err != nil {
		home, _ := os.UserHomeDir()
		gobin = filepath.Join(home, "go", "bin", "goimports")
	}
	data, err := os.ReadFile(gobin)
	if err != nil {
		t.Skipf("no go binary: %v", err)
	}
	if !gobinary.IsELF(data[:4]) {
		t.Fatalf("%s is not ELF", gobin)
	}
	mods, err := gobinary.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 || mods[0].Path != "stdlib" || mods[0].Version[0] != 'v' {
		t.Fatalf("modules %v, want stdlib first", mods)
	}
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "version", "-m",
		gobin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) < 3 {
		t.Errorf("modules %v, want goimports and its golang.org/x dependencies", mods)
	}
	for _, m := range mods[1:] {
		if !bytes.Contains(out, []byte(m.Path+"\t"+m.Version)) {
			t.Errorf("go version -m does not list %s %s", m.Path, m.Version)
		}
	}
}

func TestReadNotGo(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty": nil, "elf header only": []byte("\x7fELF\x02\x01\x01"),
		"text": []byte("#!/bin/sh\necho hi\n"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := gobinary.Read(bytes.NewReader(data)); err == nil {
				t.Error("Read succeeded")
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = gobinary.Read(bytes.NewReader(data))
	})
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestScanMatchesRead streams real binaries: Go binaries (the go command
// also holds the build info magic as a constant, outside its data) give
// what Read gives, reading only part of the file; others have none.
func TestScanMatchesRead(t *testing.T) {
	home, _ := os.UserHomeDir()
	tests := []struct {
		name string
		path string
		isGo bool
	}{
		{"goimports", filepath.Join(home, "go", "bin", "goimports"), true},
		{"go command", filepath.Join(runtime.GOROOT(), "bin", "go"), true},
		{"gofmt", filepath.Join(runtime.GOROOT(), "bin", "gofmt"), true},
		{"C binary", "/bin/ls", false},
		{"shared library", "/lib/x86_64-linux-gnu/libc.so.6", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(tt.path)
			if err != nil {
				t.Skipf("no binary: %v", err)
			}
			cr := &countingReader{r: bytes.NewReader(data)}
			got, err := gobinary.Scan(cr)
			if !tt.isGo {
				if !errors.Is(err, gobinary.ErrNoBuildInfo) {
					t.Fatalf("Scan = %v, %v; want ErrNoBuildInfo", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := gobinary.Read(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Scan and Read differ (-read +scan):\n%s", diff)
			}
			if cr.n >= len(data) {
				t.Errorf("Scan read all %d bytes", len(data))
			}
		})
	}
}

func TestScanBroken(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "bin", "gofmt"))
	if err != nil {
		t.Skip(err)
	}
	i := bytes.Index(data, []byte("\xff Go buildinf:"))
	for i >= 0 && i%16 != 0 {
		j := bytes.Index(data[i+1:], []byte("\xff Go buildinf:"))
		if j < 0 {
			t.Fatal("no aligned build info in gofmt")
		}
		i += 1 + j
	}
	old := slices.Clone(data)
	old[i+15] &^= 2
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated in the build info", data[:i+40], gobinary.ErrNoBuildInfo},
		{"truncated in the headers", data[:60], gobinary.ErrNoBuildInfo},
		{"pre-1.18 format", old, gobinary.ErrOldFormat},
		{"not ELF", []byte("#!/bin/sh\n"), gobinary.ErrNoBuildInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := gobinary.Scan(bytes.NewReader(tt.data)); !errors.Is(err, tt.want) {
				t.Errorf("Scan = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	if data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "bin", "gofmt")); err == nil {
		f.Add(data[:min(len(data), 1<<20)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = gobinary.Scan(bytes.NewReader(data))
	})
}
