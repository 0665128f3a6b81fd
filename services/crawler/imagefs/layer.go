package imagefs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Whiteout markers, as the OCI image layer spec names them.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
)

// entry is one layer member, held until the whole layer has been read so
// that the layer's whiteouts apply to lower layers only.
type entry struct {
	path     string
	file     File
	content  []byte
	captured bool
}

// whiteout removes name from dir, or every lower entry under dir when
// opaque is set.
type whiteout struct {
	dir, name string
	opaque    bool
}

// layer is what one layer blob holds.
type layer struct {
	entries   []entry
	whiteouts []whiteout
}

// AddLayer reads one layer blob (a tar, plain or compressed with gzip or
// zstd, whatever its media type claims) and merges it over the layers added
// before. digest names the layer in [File.Layer]. The blob is read once, to
// its end, so that a caller can verify its digest. On error the FS is
// unchanged.
func (fs *FS) AddLayer(ctx context.Context, digest string, blob io.Reader) error {
	l, err := fs.readLayer(ctx, blob)
	if err != nil {
		return fmt.Errorf("read layer %s: %w", digest, err)
	}
	for _, w := range l.whiteouts {
		fs.applyWhiteout(w)
	}
	for _, e := range l.entries {
		fs.insert(digest, e)
	}
	fs.layers++
	return nil
}

// readLayer decompresses blob and reads its tar members.
func (fs *FS) readLayer(ctx context.Context, blob io.Reader) (*layer, error) {
	r, closeFn, err := decompress(blob)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	l, err := fs.readTar(ctx, r)
	if err != nil {
		return nil, err
	}
	// Read what follows the tar's end so that a compressed stream's
	// checksum and a truncated tail are checked.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("read past tar end: %w", err)
	}
	return l, nil
}

// decompress detects the compression of blob from its first bytes.
func decompress(blob io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(blob, 64<<10)
	magic, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, nil, fmt.Errorf("read layer header: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, func() { _ = zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("open zstd stream: %w", err)
		}
		return zr, zr.Close, nil
	default:
		return br, func() {}, nil
	}
}

// readTar reads every member of a layer tar.
func (fs *FS) readTar(ctx context.Context, r io.Reader) (*layer, error) {
	l := &layer{}
	tr := tar.NewReader(r)
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return l, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tar header after %q: %w", last, err)
		}
		last = hdr.Name
		if err := fs.readMember(l, hdr, tr); err != nil {
			return nil, err
		}
	}
}

// readMember records one tar member in l.
func (fs *FS) readMember(l *layer, hdr *tar.Header, tr *tar.Reader) error {
	p := Clean(hdr.Name)
	if p == "/" {
		return nil
	}
	dir, base := path.Split(p)
	if strings.HasPrefix(base, whiteoutPrefix) {
		l.addWhiteout(dir, base)
		return nil
	}
	typ, ok := fileType(hdr.Typeflag)
	if !ok {
		return nil
	}
	e := entry{path: p, file: File{
		Type: typ,
		Mode: hdr.Mode & 0o7777,
		UID:  hdr.Uid,
		GID:  hdr.Gid,
		Size: hdr.Size,
	}}
	switch typ {
	case TypeSymlink:
		e.file.Link = hdr.Linkname
	case TypeHardlink:
		e.file.Link = Clean(hdr.Linkname)
		e.file.Size = 0
	case TypeFile:
		if err := fs.capture(&e, tr); err != nil {
			return err
		}
	default:
		e.file.Size = 0
	}
	l.entries = append(l.entries, e)
	return nil
}

// addWhiteout records the whiteout marker base found in dir.
func (l *layer) addWhiteout(dir, base string) {
	switch {
	case base == opaqueMarker:
		l.whiteouts = append(l.whiteouts, whiteout{dir: dir, opaque: true})
	case strings.HasPrefix(base, whiteoutMeta):
		// Other aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not files.
	default:
		name := strings.TrimPrefix(base, whiteoutPrefix)
		if name != "" && name != "." && name != ".." {
			l.whiteouts = append(l.whiteouts, whiteout{dir: dir, name: name})
		}
	}
}

// capture keeps e's content when its path is one of the captured ones.
func (fs *FS) capture(e *entry, r io.Reader) error {
	limit, ok := fs.opts.Capture[e.path]
	if !ok {
		return nil
	}
	if e.file.Size > limit {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, e.path, e.file.Size, limit)
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", e.path, err)
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, e.path, limit)
	}
	e.content, e.captured = data, true
	return nil
}

// fileType maps a tar type flag to a [Type]; ok is false for members that
// are not files (such as pax global headers).
func fileType(flag byte) (Type, bool) {
	switch flag {
	case tar.TypeReg, tar.TypeGNUSparse:
		return TypeFile, true
	case tar.TypeDir:
		return TypeDir, true
	case tar.TypeSymlink:
		return TypeSymlink, true
	case tar.TypeLink:
		return TypeHardlink, true
	case tar.TypeChar:
		return TypeChar, true
	case tar.TypeBlock:
		return TypeBlock, true
	case tar.TypeFifo:
		return TypeFifo, true
	default:
		return "", false
	}
}

// applyWhiteout removes what w hides from the layers merged so far.
func (fs *FS) applyWhiteout(w whiteout) {
	dir, err := fs.resolve(w.dir, true)
	if err != nil || !dir.isDir() {
		return
	}
	if w.opaque {
		dir.children = map[string]*node{}
		return
	}
	delete(dir.children, w.name)
}

// insert puts e into the tree, replacing what lower layers had at its path.
// A directory over a directory keeps the lower one's children; anything
// else replaces the whole lower subtree.
func (fs *FS) insert(digest string, e entry) {
	dirPath, name := path.Split(e.path)
	parent := fs.mkdirAll(dirPath)
	old := parent.children[name]
	f := e.file
	f.Path = path.Join(parent.path, name)
	f.Layer = digest
	n := &node{path: f.Path, file: &f, content: e.content, captured: e.captured}
	switch f.Type {
	case TypeDir:
		n.children = map[string]*node{}
		if old != nil && old.isDir() {
			n.children = old.children
		}
	case TypeHardlink:
		fs.linkContent(n)
	}
	parent.children[name] = n
}

// linkContent gives hard link n the size and captured content of its
// target, when the target is a regular file already merged.
func (fs *FS) linkContent(n *node) {
	target, err := fs.resolve(n.file.Link, false)
	if err != nil || target.file == nil {
		return
	}
	if t := target.file.Type; t != TypeFile && t != TypeHardlink {
		return
	}
	n.file.Size = target.file.Size
	n.content, n.captured = target.content, target.captured
}

// mkdirAll returns the directory node at dir, creating implicit directories
// for missing components. A component that is a symbolic link to a
// directory inside the root is followed; any other non-directory is
// replaced, as an upper layer's directory replaces a lower file.
func (fs *FS) mkdirAll(dir string) *node {
	cur := fs.root
	for _, c := range split(dir) {
		child := cur.children[c]
		switch {
		case child != nil && child.isDir():
		case child != nil && child.isSymlink():
			if t, err := fs.resolve(child.path, true); err == nil && t.isDir() {
				child = t
				break
			}
			child = nil
		default:
			child = nil
		}
		if child == nil {
			child = &node{path: path.Join(cur.path, c), children: map[string]*node{}}
			cur.children[c] = child
		}
		cur = child
	}
	return cur
}
