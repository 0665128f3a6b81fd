package imagefs

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/klauspost/compress/zstd"
)

// Whiteout markers, as the OCI image layer spec names them.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Entry is one layer member, held until the whole layer has been read so
// that the layer's whiteouts apply to lower layers only.
type Entry struct {
	// Path is the member's clean absolute name as written in the layer.
	Path string `json:"p"`
	// File is the member's metadata.
	File Meta `json:"f"`
	// Content is the captured content, when Captured is set.
	Content  []byte `json:"c,omitempty"`
	Captured bool   `json:"k,omitempty"`
}

// Meta is a layer member's metadata: the fields of a [File] that a layer
// records, in less memory, since an image may hold millions of entries.
// It encodes in JSON as a File without path and layer would.
type Meta struct {
	// Type is the member's kind.
	Type Kind `json:"type"`
	// Mode holds the permission bits plus setuid, setgid and sticky.
	Mode uint16 `json:"mode"`
	// UID and GID are the numeric owner and group.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// Size is the size in bytes the member's header gives a regular file
	// or symbolic link; it is 0 for the other kinds.
	Size int64 `json:"size"`
	// Link is a symbolic link's target as written in the layer, or a hard
	// link's target as a clean absolute path.
	Link string `json:"link,omitempty"`
}

// Whiteout removes Name from Dir, or every lower entry under Dir when Opaque
// is set.
type Whiteout struct {
	Dir    string `json:"d"`
	Name   string `json:"n,omitempty"`
	Opaque bool   `json:"o,omitempty"`
}

// Layer is what one layer blob holds, as [Scan] reads it: a value that can
// be kept (cached by layer digest) and merged later with [FS.Apply].
type Layer struct {
	Entries   []Entry    `json:"e"`
	Whiteouts []Whiteout `json:"w,omitempty"`
	// Bytes is the size of the uncompressed tar stream.
	Bytes int64 `json:"b"`
}

// AddLayer reads one layer blob with [Scan] and merges it over the layers
// added before with [FS.Apply]. On error the FS is unchanged.
func (fs *FS) AddLayer(ctx context.Context, digest string, blob io.Reader) error {
	l, err := Scan(ctx, blob, fs.opts)
	if err != nil {
		return fmt.Errorf("read layer %s: %w", digest, err)
	}
	fs.Apply(digest, l)
	return nil
}

// Apply merges l, the layer with the given digest, over the layers applied
// before: its whiteouts hide lower entries, then its entries are inserted.
// digest names the layer in [File.Layer]. The FS keeps pointers into
// l.Entries, which must not change afterwards.
func (fs *FS) Apply(digest string, l *Layer) {
	for _, w := range l.Whiteouts {
		fs.applyWhiteout(w)
	}
	fs.digests = append(fs.digests, digest)
	for i := range l.Entries {
		fs.insert(&l.Entries[i])
	}
}

// Scan reads one layer blob (a tar, plain or compressed with gzip or zstd,
// whatever its media type claims) without merging it. The blob is read
// once, to its end, so that a caller can verify its digest.
func Scan(ctx context.Context, blob io.Reader, opts Options) (*Layer, error) {
	s := &scanner{opts: opts}
	return s.readLayer(ctx, blob)
}

// scanner reads one layer under opts.
type scanner struct {
	opts    Options
	files   int
	entries Collector
}

// readLayer decompresses blob and reads its tar members.
func (fs *scanner) readLayer(ctx context.Context, blob io.Reader) (*Layer, error) {
	r, closeFn, err := decompress(blob)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	cr := &countReader{r: r, limit: fs.opts.MaxBytes}
	l, err := fs.readTar(ctx, cr)
	if err != nil {
		return nil, err
	}
	// Read what follows the tar's end so that a compressed stream's
	// checksum and a truncated tail are checked.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("read past tar end: %w", err)
	}
	l.Bytes = cr.n
	return l, nil
}

// countReader counts the bytes read through it and fails with [ErrLimit]
// once they pass limit, when limit is positive.
type countReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.limit > 0 && c.n > c.limit {
		return n, fmt.Errorf("%w: more than %d uncompressed bytes", ErrLimit, c.limit)
	}
	return n, err
}

// decompress detects the compression of blob from its first bytes. A
// compressed stream is decompressed ahead of its reader, on a goroutine of
// its own; the returned func stops it.
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
		ar := readAhead(zr)
		return ar, func() { ar.Close(); _ = zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("open zstd stream: %w", err)
		}
		ar := readAhead(zr)
		return ar, func() { ar.Close(); zr.Close() }, nil
	default:
		return br, func() {}, nil
	}
}

// readTar reads every member of a layer tar.
func (fs *scanner) readTar(ctx context.Context, r io.Reader) (*Layer, error) {
	l := &Layer{}
	tr := tar.NewReader(r)
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			l.Entries = fs.entries.Entries()
			return l, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tar header after %q: %w", last, err)
		}
		last = hdr.Name
		fs.files++
		if fs.opts.MaxFiles > 0 && fs.files > fs.opts.MaxFiles {
			return nil, fmt.Errorf("%w: more than %d files", ErrLimit, fs.opts.MaxFiles)
		}
		if err := fs.readMember(l, hdr, tr); err != nil {
			return nil, err
		}
	}
}

// readMember records one tar member in l.
func (fs *scanner) readMember(l *Layer, hdr *tar.Header, tr *tar.Reader) error {
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
	e := Entry{Path: p, File: Meta{
		Type: typ,
		Mode: uint16(hdr.Mode & 0o7777),
		UID:  hdr.Uid,
		GID:  hdr.Gid,
		Size: hdr.Size,
	}}
	switch typ {
	case KindSymlink:
		e.File.Link = hdr.Linkname
	case KindHardlink:
		e.File.Link = Clean(hdr.Linkname)
		e.File.Size = 0
	case KindFile:
		if err := fs.capture(&e, tr); err != nil {
			return err
		}
	default:
		e.File.Size = 0
	}
	fs.entries.Add(e)
	return nil
}

// addWhiteout records the whiteout marker base found in dir.
func (l *Layer) addWhiteout(dir, base string) {
	switch {
	case base == opaqueMarker:
		l.Whiteouts = append(l.Whiteouts, Whiteout{Dir: dir, Opaque: true})
	case strings.HasPrefix(base, whiteoutMeta):
		// Other aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not files.
	default:
		name := strings.TrimPrefix(base, whiteoutPrefix)
		if name != "" && name != "." && name != ".." {
			l.Whiteouts = append(l.Whiteouts, Whiteout{Dir: dir, Name: name})
		}
	}
}

// limit returns the capture limit of p, and whether p is captured.
func (fs *scanner) limit(p string) (int64, bool) {
	if limit, ok := fs.opts.Capture[p]; ok {
		return limit, true
	}
	for _, pat := range fs.opts.CapturePatterns {
		if ok, _ := path.Match(pat.Glob, p); ok {
			return pat.Limit, true
		}
	}
	return 0, false
}

// capture keeps e's content when its path is one of the captured ones, and
// shows it to the visitor otherwise.
func (fs *scanner) capture(e *Entry, r io.Reader) error {
	limit, ok := fs.limit(e.Path)
	if !ok {
		if fs.opts.Visit != nil {
			return fs.opts.Visit(e, r)
		}
		return nil
	}
	if e.File.Size > limit {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, e.Path, e.File.Size, limit)
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, e.Path, limit)
	}
	e.Content, e.Captured = data, true
	return nil
}

// fileType maps a tar type flag to a [Kind]; ok is false for members that
// are not files (such as pax global headers).
func fileType(flag byte) (Kind, bool) {
	switch flag {
	case tar.TypeReg, tar.TypeGNUSparse:
		return KindFile, true
	case tar.TypeDir:
		return KindDir, true
	case tar.TypeSymlink:
		return KindSymlink, true
	case tar.TypeLink:
		return KindHardlink, true
	case tar.TypeChar:
		return KindChar, true
	case tar.TypeBlock:
		return KindBlock, true
	case tar.TypeFifo:
		return KindFifo, true
	default:
		return 0, false
	}
}

// applyWhiteout removes what w hides from the layers merged so far.
func (fs *FS) applyWhiteout(w Whiteout) {
	dir, err := fs.resolve(w.Dir, true)
	if err != nil || !dir.isDir() {
		return
	}
	if w.Opaque {
		dir.children = map[string]*node{}
		return
	}
	delete(dir.children, w.Name)
}

// insert puts e into the tree, replacing what lower layers had at its path.
// A directory over a directory keeps the lower one's children; anything
// else replaces the whole lower subtree.
func (fs *FS) insert(e *Entry) {
	dirPath, name := path.Split(e.Path)
	parent := fs.mkdirAll(dirPath)
	old := parent.children[name]
	n := &node{entry: e, layer: int32(len(fs.digests) - 1)}
	if p, own := childPath(fs.path(parent), name, e.Path); !own {
		fs.paths[n] = p
	}
	switch e.File.Type {
	case KindDir:
		n.children = map[string]*node{}
		if old != nil && old.isDir() {
			n.children = old.children
		}
	case KindHardlink:
		fs.linkContent(n)
	}
	parent.children[name] = n
}

// childPath returns the path of name in the directory at dir, and whether
// that is full, the entry's own path, as it is unless a symbolic link led
// elsewhere.
func childPath(dir, name, full string) (string, bool) {
	if dir == "/" {
		dir = ""
	}
	if len(full) == len(dir)+1+len(name) && strings.HasPrefix(full, dir) &&
		full[len(dir)] == '/' && strings.HasSuffix(full, name) {
		return full, true
	}
	return dir + "/" + name, false
}

// linkContent gives hard link n the size and captured content of its
// target, when the target is a regular file already merged. n gets an
// entry of its own, since its layer's entry must not change.
func (fs *FS) linkContent(n *node) {
	target, err := fs.resolve(n.entry.File.Link, false)
	if err != nil || target.entry == nil {
		return
	}
	if t := target.entry.File.Type; t != KindFile && t != KindHardlink {
		return
	}
	e := *n.entry
	e.File.Size = target.entry.File.Size
	e.Content, e.Captured = target.entry.Content, target.entry.Captured
	n.entry = &e
}

// mkdirAll returns the directory node at dir, creating implicit directories
// for missing components. A component that is a symbolic link to a
// directory inside the root is followed; any other non-directory is
// replaced, as an upper layer's directory replaces a lower file.
func (fs *FS) mkdirAll(dir string) *node {
	cur := fs.root
	for c := range strings.SplitSeq(dir, "/") {
		if c == "" || c == "." {
			continue
		}
		child := cur.children[c]
		switch {
		case child != nil && child.isDir():
		case child != nil && child.isSymlink():
			if t, err := fs.resolve(fs.path(child), true); err == nil && t.isDir() {
				child = t
				break
			}
			child = nil
		default:
			child = nil
		}
		if child == nil {
			child = &node{children: map[string]*node{}}
			fs.paths[child] = path.Join(fs.path(cur), c)
			cur.children[c] = child
		}
		cur = child
	}
	return cur
}
