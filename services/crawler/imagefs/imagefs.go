// Package imagefs builds the merged file view of a container image from its
// layer blobs, streaming each once and writing nothing to disk. It applies
// whiteouts and opaque directories in layer order, keeps every path inside
// the image root, resolves symbolic links inside that root only, and keeps
// the content of a chosen few files.
package imagefs

import (
	"errors"
	"io"
	"path"
	"sort"
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
	opts   Options
	root   *node
	layers int
}

// node is one entry of the merged tree. Directories have a children map;
// implicit directories (named only as parents in the layers) have no file.
type node struct {
	path     string
	file     *File
	children map[string]*node
	content  []byte
	captured bool
}

// New returns an empty FS.
func New(opts Options) *FS {
	return &FS{opts: opts, root: &node{path: "/", children: map[string]*node{}}}
}

// Files returns every file of the merged image, sorted by path. Directories
// that no layer recorded but that hold files are left out, as is the root.
func (fs *FS) Files() []File {
	var out []File
	var walk func(n *node)
	walk = func(n *node) {
		if n.file != nil {
			out = append(out, *n.file)
		}
		names := make([]string, 0, len(n.children))
		for name := range n.children {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			walk(n.children[name])
		}
	}
	walk(fs.root)
	return out
}

// Stat returns the file at p after resolving symbolic links inside the
// image root, including a link at p itself.
func (fs *FS) Stat(p string) (File, error) {
	n, err := fs.resolve(p, true)
	if err != nil {
		return File{}, err
	}
	if n.file == nil {
		return File{Path: n.path, Type: TypeDir}, nil
	}
	return *n.file, nil
}

// Content returns the captured content of the file at p, resolving
// symbolic links inside the image root. ok is false when p does not resolve
// to a regular file or hard link whose content was captured.
func (fs *FS) Content(p string) (content []byte, ok bool) {
	n, err := fs.resolve(p, true)
	if err != nil || !n.captured {
		return nil, false
	}
	return n.content, true
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
			if strings.HasPrefix(child.file.Link, "/") {
				stack = stack[:1]
			}
			comps = append(split(child.file.Link), comps...)
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
	return n.file != nil && n.file.Type == TypeSymlink
}

func (n *node) isDir() bool {
	return n.children != nil
}
