package imagefs_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/internal/ocitest"
)

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"etc/passwd", "/etc/passwd"},
		{"./etc/passwd", "/etc/passwd"},
		{"/etc/passwd", "/etc/passwd"},
		{"../../etc/passwd", "/etc/passwd"},
		{"etc/../../../x", "/x"},
		{"", "/"},
		{"etc//ssh/./sshd_config/", "/etc/ssh/sshd_config"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := imagefs.Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStat(t *testing.T) {
	layer := ocitest.Tar(t,
		ocitest.Entry{Name: "usr/lib/os-release", Body: "ID=x\n"},
		ocitest.Entry{Name: "etc/os-release", Type: tar.TypeSymlink, Link: "../usr/lib/os-release"},
		ocitest.Entry{Name: "lib", Type: tar.TypeSymlink, Link: "usr/lib"},
		ocitest.Entry{Name: "up", Type: tar.TypeSymlink, Link: "../../.."},
		ocitest.Entry{Name: "loop", Type: tar.TypeSymlink, Link: "loop"},
		// Written through the /lib symlink: lands in /usr/lib.
		ocitest.Entry{Name: "lib/added", Body: "a"},
	)
	fs := imagefs.New(imagefs.Options{Capture: map[string]int64{"/usr/lib/os-release": 100}})
	if err := fs.AddLayer(t.Context(), "sha256:l1", bytes.NewReader(layer)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
		err        error
	}{
		{"/etc/os-release", "/usr/lib/os-release", nil},
		{"/lib/os-release", "/usr/lib/os-release", nil},
		{"/up/up/etc/os-release", "/usr/lib/os-release", nil},
		{"/lib/added", "/usr/lib/added", nil},
		{"/loop", "", imagefs.ErrLinkLoop},
		{"/nothing", "", imagefs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, err := fs.Stat(tt.path)
			if !errors.Is(err, tt.err) || f.Path != tt.want {
				t.Errorf("Stat(%s) = %q, %v; want %q, %v", tt.path, f.Path, err, tt.want, tt.err)
			}
		})
	}
	if c, ok := fs.Content("/etc/os-release"); !ok || string(c) != "ID=x\n" {
		t.Errorf("Content(/etc/os-release) = %q, %v", c, ok)
	}
}

func TestAddLayerFailureLeavesFS(t *testing.T) {
	fs := imagefs.New(imagefs.Options{})
	good := ocitest.Tar(t, ocitest.Entry{Name: "a", Body: "a"})
	if err := fs.AddLayer(t.Context(), "sha256:l1", bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	gz := ocitest.Gzip(t, ocitest.Tar(t, ocitest.Entry{Name: "b", Body: "b"},
		ocitest.Entry{Name: ".wh.a"}))
	err := fs.AddLayer(t.Context(), "sha256:l2", bytes.NewReader(gz[:len(gz)-10]))
	if err == nil {
		t.Fatal("AddLayer of a truncated gzip layer succeeded")
	}
	files := fs.Files()
	if len(files) != 1 || files[0].Path != "/a" {
		t.Errorf("files after a failed layer = %+v, want only /a", files)
	}
}

// TestApplyKeepsLayers merges one scanned layer twice, as an image that
// repeats a layer does, and checks the merged files, the paths of files
// written through a symbolic link, and that merging changed no entry of
// the layer (a hard link takes its target's size in the tree only). /usr,
// named only as a parent, is left out.
func TestApplyKeepsLayers(t *testing.T) {
	l, err := imagefs.Scan(t.Context(), bytes.NewReader(ocitest.Tar(t,
		ocitest.Entry{Name: "usr/lib/"},
		ocitest.Entry{Name: "lib", Type: tar.TypeSymlink, Link: "usr/lib"},
		ocitest.Entry{Name: "lib/a", Body: "abc"},
		ocitest.Entry{Name: "b", Type: tar.TypeLink, Link: "usr/lib/a"},
	)), imagefs.Options{Capture: map[string]int64{"/lib/a": 10}})
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(l.Entries)
	fs := imagefs.New(imagefs.Options{})
	fs.Apply("sha256:l1", l)
	fs.Apply("sha256:l2", l)
	var got []string
	for _, f := range fs.Files() {
		got = append(got, fmt.Sprintf("%s %s %d %s", f.Path, f.Type, f.Size, f.Layer))
	}
	want := []string{
		"/b hardlink 3 sha256:l2",
		"/lib symlink 0 sha256:l2",
		"/usr/lib dir 0 sha256:l2",
		"/usr/lib/a file 3 sha256:l2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if c, ok := fs.Content("/b"); !ok || string(c) != "abc" {
		t.Errorf("Content(/b) = %q, %v; want abc", c, ok)
	}
	if diff := cmp.Diff(before, l.Entries); diff != "" {
		t.Errorf("Apply changed the layer's entries (-before +after):\n%s", diff)
	}
}

// TestKindText checks that a Kind encodes as its Type's name and back.
func TestKindText(t *testing.T) {
	for k := imagefs.Kind(0); k <= imagefs.KindFifo; k++ {
		t.Run(string(k.Type()), func(t *testing.T) {
			text, err := k.MarshalText()
			if err != nil || string(text) != string(k.Type()) {
				t.Fatalf("MarshalText = %q, %v; want %q", text, err, k.Type())
			}
			var back imagefs.Kind
			if err := back.UnmarshalText(text); err != nil || back != k {
				t.Errorf("UnmarshalText(%q) = %d, %v; want %d", text, back, err, k)
			}
		})
	}
	var k imagefs.Kind
	if err := k.UnmarshalText([]byte("socket")); err == nil {
		t.Error("UnmarshalText(socket) succeeded")
	}
}
