// Package gobinary reads the build information the Go toolchain embeds in
// every binary it links: the main module and the module of every package
// linked in, with their versions.
package gobinary

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Module is one Go module linked into a binary.
type Module struct {
	// Path is the module path ("golang.org/x/net"), or "stdlib" for the
	// standard library.
	Path string
	// Version is the module version as the build info writes it
	// ("v0.17.0"); the standard library's is the toolchain's in the same
	// form ("v1.22.1").
	Version string
}

// IsELF reports whether head starts with the ELF magic number.
func IsELF(head []byte) bool {
	return bytes.HasPrefix(head, []byte("\x7fELF"))
}

// Read returns the modules linked into the binary r holds, dependencies
// replaced as the build said. A binary without build info (not a Go
// binary) is an error.
func Read(r io.ReaderAt) ([]Module, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return nil, fmt.Errorf("read go build info: %w", err)
	}
	return modules(bi), nil
}

// modules lists the modules of build info bi: the standard library first,
// then the main module and the dependencies, replaced as the build said.
func modules(bi *debug.BuildInfo) []Module {
	var mods []Module
	if v := goVersion(bi.GoVersion); v != "" {
		mods = append(mods, Module{Path: "stdlib", Version: v})
	}
	if m := bi.Main; m.Path != "" && m.Version != "" && m.Version != "(devel)" {
		mods = append(mods, Module{Path: m.Path, Version: m.Version})
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		if d.Path != "" && d.Version != "" && d.Version != "(devel)" {
			mods = append(mods, Module{Path: d.Path, Version: d.Version})
		}
	}
	return mods
}

// goVersion turns "go1.22.1 X:boringcrypto" into "v1.22.1".
func goVersion(s string) string {
	s, _, _ = strings.Cut(s, " ")
	v, ok := strings.CutPrefix(s, "go")
	if !ok || v == "" {
		return ""
	}
	return "v" + v
}
