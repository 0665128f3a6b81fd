// Package imagefs builds the merged file view of a container image from its
// layer blobs, streaming each once and writing nothing to disk. It applies
// whiteouts and opaque directories in layer order, keeps every path inside
// the image root, resolves symbolic links inside that root only, and keeps
// the content of a chosen few files.
package imagefs

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Type is the kind of a file, as stored in image_files.type.
type Type string

// The file types of a merged image.
const (
	TypeFile     Type = "file"
	TypeDir      Type = "dir"
	TypeSymlink  Type = "symlink"
	TypeHardlink Type = "hardlink"
	TypeChar     Type = "char"
	TypeBlock    Type = "block"
	TypeFifo     Type = "fifo"
)

// Kind is a [Type] in one byte, as layer entries keep it. Its text form
// is the Type's, so that it encodes as the Type would.
type Kind uint8

// The kinds of layer entries, one per [Type].
const (
	KindFile Kind = iota + 1
	KindDir
	KindSymlink
	KindHardlink
	KindChar
	KindBlock
	KindFifo
)

// kindTypes maps each [Kind] to its [Type]; 0 has none.
var kindTypes = [...]Type{"", TypeFile, TypeDir, TypeSymlink, TypeHardlink, TypeChar,
	TypeBlock, TypeFifo}

// Type returns k's [Type], "" for a value that is no kind.
func (k Kind) Type() Type {
	if int(k) < len(kindTypes) {
		return kindTypes[k]
	}
	return ""
}

// MarshalText returns k's [Type] name.
func (k Kind) MarshalText() ([]byte, error) {
	return []byte(k.Type()), nil
}

// UnmarshalText sets k to the kind of the [Type] named by text; "" is 0,
// as MarshalText writes it.
func (k *Kind) UnmarshalText(text []byte) error {
	for i, t := range kindTypes {
		if string(t) == string(text) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown file type %q", text)
}

// MaxHops is how many symbolic links a path resolution follows before it
// gives up with [ErrLinkLoop].
const MaxHops = 40

var (
	// ErrTooLarge reports a captured file over its size limit.
	ErrTooLarge = errors.New("captured file too large")
	// ErrLinkLoop reports a path whose resolution follows more than
	// [MaxHops] symbolic links.
	ErrLinkLoop = errors.New("too many levels of symbolic links")
	// ErrNotExist reports a path that is not in the merged image.
	ErrNotExist = errors.New("no such file in image")
)

// File is one file of the merged image.
type File struct {
	// Path is absolute and clean ("/etc/passwd").
	Path string `json:"path,omitempty"`
	// Type is the file's kind.
	Type Type `json:"type"`
	// Mode holds the permission bits plus setuid (04000), setgid (02000)
	// and sticky (01000).
	Mode int64 `json:"mode"`
	// UID and GID are the numeric owner and group.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// Size is the content size in bytes; for a hard link it is the size of
	// its target when the target is a regular file.
	Size int64 `json:"size"`
	// Link is a symbolic link's target as written in the layer, or a hard
	// link's target as a clean absolute path.
	Link string `json:"link,omitempty"`
	// Layer is the digest of the layer that last wrote the file.
	Layer string `json:"layer,omitempty"`
}

// Options says which files' content to keep and bounds what a layer may
// hold. The zero value keeps no content and sets no bounds.
type Options struct {
	// Capture maps clean absolute paths to the most bytes of content to
	// keep for each; a regular file at such a path that is larger makes
	// [Scan] fail with [ErrTooLarge].
	Capture map[string]int64
	// CapturePatterns are [path.Match] patterns ("/etc/pam.d/*") whose
	// matching regular files are kept like those of Capture.
	CapturePatterns []Pattern
	// Visit, when set, is called for every regular file whose content is
	// not captured, with a reader of its content; it may read as much of
	// it as it likes. An error it returns ends the scan.
	Visit func(e *Entry, r io.Reader) error
	// MaxBytes bounds the uncompressed tar stream; a layer that is larger
	// fails with [ErrLimit]. Zero means no bound.
	MaxBytes int64
	// MaxFiles bounds the number of members; zero means no bound.
	MaxFiles int
}

// Pattern is a capture pattern and the most bytes kept of each match.
type Pattern struct {
	Glob  string
	Limit int64
}

// ErrLimit reports a layer over one of the bounds of [Options].
var ErrLimit = errors.New("layer over its limit")

// FS is the merged view of the layers added so far. It is not safe for
// concurrent use.
type FS struct {
	opts Options
	root *node
	// digests names the layers applied, by [node.layer].
	digests []string
	// paths holds the paths of the nodes whose path is not their entry's:
	// implicit directories, and entries written through a symbolic link.
	paths map[*node]string
}

// node is one entry of the merged tree. Directories have a children map;
// implicit directories (named only as parents in the layers) have no
// entry. A node points at the layer entry that wrote it rather than
// holding a copy, and takes its path from it, so that a merged file costs
// little more than its layer entry.
type node struct {
	entry    *Entry
	children map[string]*node
	layer    int32
}

// New returns an empty FS.
func New(opts Options) *FS {
	root := &node{children: map[string]*node{}}
	return &FS{opts: opts, root: root, paths: map[*node]string{root: "/"}}
}

// path returns n's clean absolute path.
func (fs *FS) path(n *node) string {
	if p, ok := fs.paths[n]; ok {
		return p
	}
	return n.entry.Path
}

// Files returns every file of the merged image, sorted by path. Directories
// that no layer recorded but that hold files are left out, as is the root.
// It returns nil when there are none.
func (fs *FS) Files() []File {
	n := fs.root.count()
	if n == 0 {
		return nil
	}
	out := make([]File, 0, n)
	var names []string
	var walk func(n *node)
	walk = func(n *node) {
		if n.entry != nil {
			out = append(out, fs.stat(n))
		}
		// names is shared by every level: each level appends its own
		// names after its parent's and cuts them off when done.
		start := len(names)
		for name := range n.children {
			names = append(names, name)
		}
		slices.Sort(names[start:])
		for i := start; i < len(names); i++ {
			walk(n.children[names[i]])
		}
		names = names[:start]
	}
	walk(fs.root)
	return out
}

// count returns how many nodes with an entry n's subtree holds, n included.
func (n *node) count() int {
	c := 0
	if n.entry != nil {
		c = 1
	}
	for _, child := range n.children {
		c += child.count()
	}
	return c
}

// stat returns n as a [File].
func (fs *FS) stat(n *node) File {
	if n.entry == nil {
		return File{Path: fs.path(n), Type: TypeDir}
	}
	m := &n.entry.File
	return File{Path: fs.path(n), Type: m.Type.Type(), Mode: int64(m.Mode), UID: m.UID,
		GID: m.GID, Size: m.Size, Link: m.Link, Layer: fs.digests[n.layer]}
}

// Stat returns the file at p after resolving symbolic links inside the
// image root, including a link at p itself.
func (fs *FS) Stat(p string) (File, error) {
	n, err := fs.resolve(p, true)
	if err != nil {
		return File{}, err
	}
	return fs.stat(n), nil
}

// Content returns the captured content of the file at p, resolving
// symbolic links inside the image root. ok is false when p does not resolve
// to a regular file or hard link whose content was captured.
func (fs *FS) Content(p string) (content []byte, ok bool) {
	n, err := fs.resolve(p, true)
	if err != nil || n.entry == nil || !n.entry.Captured {
		return nil, false
	}
	return n.entry.Content, true
}

// Clean turns a layer entry name or link target into a clean absolute path
// inside the image root: "../../etc/passwd" and "/etc/passwd" both become
// "/etc/passwd".
func Clean(name string) string {
	return path.Clean("/" + name)
}

// resolve walks p from the root, following symbolic links inside the root
// (and the last component's too when followLast is set). ".." never leaves
// the root.
func (fs *FS) resolve(p string, followLast bool) (*node, error) {
	stack := []*node{fs.root}
	comps := split(p)
	hops := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		if c == ".." {
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		cur := stack[len(stack)-1]
		child := cur.children[c]
		if child == nil {
			return nil, ErrNotExist
		}
		if child.isSymlink() && (len(comps) > 0 || followLast) {
			hops++
			if hops > MaxHops {
				return nil, ErrLinkLoop
			}
			if strings.HasPrefix(child.entry.File.Link, "/") {
				stack = stack[:1]
			}
			comps = append(split(child.entry.File.Link), comps...)
			continue
		}
		stack = append(stack, child)
	}
	return stack[len(stack)-1], nil
}

// split returns the components of p, without empty ones and ".".
func split(p string) []string {
	var out []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) isSymlink() bool {
	return n.entry != nil && n.entry.File.Type == KindSymlink
}

func (n *node) isDir() bool {
	return n.children != nil
}
