package gobinary_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

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
