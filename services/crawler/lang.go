package crawler

import (
	"bytes"
	"io"
	"strings"

	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/crawler/pkgdb/gem"
	"crawlspace.dev/services/crawler/pkgdb/gobinary"
	"crawlspace.dev/services/crawler/pkgdb/maven"
	"crawlspace.dev/services/crawler/pkgdb/npm"
	"crawlspace.dev/services/crawler/pkgdb/python"
	"crawlspace.dev/services/platform/distro"
)

// langVisitor finds language packages among a layer's regular files.
// Every read is bounded: metadata files by the config file limit and
// Java archives by the binary limit, larger files being skipped; Go
// binaries are streamed, whatever their size.
type langVisitor struct {
	limits Limits
	pkgs   []Package
	buf    bytes.Buffer
}

// visit is the [imagefs.Options] Visit hook.
func (v *langVisitor) visit(e *imagefs.Entry, r io.Reader) error {
	p, size := e.Path, e.File.Size
	switch {
	case python.IsMetadataPath(p):
		if data, ok := v.read(r, size, v.limits.ConfigFileSize); ok {
			if name, version, ok := python.Parse(string(data)); ok {
				v.add(distro.PyPI, distro.PackageName(distro.PyPI, name), version, p)
			}
		}
	case npm.IsInstalledManifest(p):
		if data, ok := v.read(r, size, v.limits.ConfigFileSize); ok {
			if name, version, ok := npm.Parse(data); ok {
				v.add(distro.NPM, name, version, p)
			}
		}
	case gem.IsSpecification(p):
		if data, ok := v.read(r, size, v.limits.ConfigFileSize); ok {
			if name, version, ok := gem.Parse(string(data), p); ok {
				v.add(distro.Gem, name, version, p)
			}
		}
	case maven.IsArchive(p):
		if data, ok := v.read(r, size, v.limits.BinarySize); ok {
			arts, _ := maven.Read(data, v.limits.BinarySize)
			for _, a := range arts {
				v.add(distro.Maven, a.Name, a.Version, p)
			}
		}
	case e.File.Mode&0o111 != 0 && size > 4 && !strings.Contains(p, ".so"):
		v.goBinary(e, r)
	}
	return nil
}

// goBinary streams the build info of an executable with the ELF magic,
// reading its headers and its data segment up to the build info only, so
// that nothing is buffered and other executables cost one header read.
func (v *langVisitor) goBinary(e *imagefs.Entry, r io.Reader) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil || !gobinary.IsELF(head[:]) {
		return
	}
	// TODO(crawlspace): binaries built before Go 1.18 (gobinary.ErrOldFormat)
	// are not read: their build info points elsewhere in the file, which a
	// single pass cannot reach without buffering it.
	mods, err := gobinary.Scan(io.MultiReader(bytes.NewReader(head[:]), r))
	if err != nil {
		return
	}
	for _, m := range mods {
		v.add(distro.Go, m.Path, m.Version, e.Path)
	}
}

// read returns up to limit bytes of a file of the given size, reusing one
// buffer; ok is false for a file over limit or a read error. The result is
// valid until the next read.
func (v *langVisitor) read(r io.Reader, size, limit int64) ([]byte, bool) {
	if size > limit {
		// TODO(crawlspace): record files skipped for their size, so that a
		// language package inside one is reported as unread, not absent.
		return nil, false
	}
	v.buf.Reset()
	if _, err := v.buf.ReadFrom(io.LimitReader(r, limit)); err != nil {
		return nil, false
	}
	return v.buf.Bytes(), true
}

// add records one language package; its source is itself.
func (v *langVisitor) add(eco, name, version, path string) {
	v.pkgs = append(v.pkgs, Package{Ecosystem: eco, Name: name, Version: version,
		SourceName: name, SourceVersion: version, Path: path})
}
