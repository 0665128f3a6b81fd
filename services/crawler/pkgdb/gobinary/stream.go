package gobinary

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sync"
)

// Errors of [Scan].
var (
	// ErrNoBuildInfo reports an executable without Go build info: not a Go
	// binary, or not an ELF file.
	ErrNoBuildInfo = errors.New("no go build info")
	// ErrOldFormat reports build info in the form Go before 1.18 wrote,
	// which points at strings elsewhere in the file and so cannot be read
	// in one pass.
	ErrOldFormat = errors.New("go build info from before go1.18")
)

// Layout of the build info blob and of ELF headers, as the Go linker and
// the ELF specification define them.
const (
	buildInfoMagic  = "\xff Go buildinf:"
	buildInfoAlign  = 16
	buildInfoHeader = 32
	flagsInline     = 0x2
	// maxInfoString bounds the version and module strings read.
	maxInfoString = 1 << 20
	// maxHeaders bounds the ELF and program headers read from the start,
	// and is the search window.
	maxHeaders = 16 << 10
	ptLoad     = 1
	pfX, pfW   = 1, 2
)

// Module info sentinels that frame the build's module list.
const infoSentinelSize = 16

// segment is a file range of a writable loadable ELF segment.
type segment struct{ off, end int64 }

// Scan returns the modules of the ELF executable r holds, like [Read] but
// in one pass over r: it reads the ELF and program headers, skips to the
// writable data segments, where the linker puts the build info, and scans
// them for its magic, holding no more than a 16 KiB window. It reads no
// further than the build info. An executable without build info is
// [ErrNoBuildInfo]; one built before Go 1.18 is [ErrOldFormat].
func Scan(r io.Reader) ([]Module, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	s := &stream{br: br}
	segs, err := s.segments()
	if err != nil {
		return nil, err
	}
	for _, seg := range segs {
		vers, mod, found, err := s.search(seg)
		if err != nil {
			return nil, err
		}
		if found {
			return parseInfo(vers, mod)
		}
	}
	return nil, ErrNoBuildInfo
}

// readers reuses the window of [Scan], which most executables of an
// image pass through.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, maxHeaders) }}

// stream is a reader that knows its offset in the file.
type stream struct {
	br  *bufio.Reader
	pos int64
}

// segments reads the ELF header and program headers and returns the
// writable, non-executable loadable segments by file offset.
func (s *stream) segments() ([]segment, error) {
	head, _ := s.br.Peek(maxHeaders)
	if len(head) < 52 || !IsELF(head) {
		return nil, ErrNoBuildInfo
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[5] == 2 {
		bo = binary.BigEndian
	}
	var phoff int64
	var phentsize, phnum int
	is64 := head[4] == 2
	switch {
	case is64 && len(head) >= 64:
		phoff = int64(bo.Uint64(head[32:]))
		phentsize, phnum = int(bo.Uint16(head[54:])), int(bo.Uint16(head[56:]))
	case head[4] == 1:
		phoff = int64(bo.Uint32(head[28:]))
		phentsize, phnum = int(bo.Uint16(head[42:])), int(bo.Uint16(head[44:]))
	default:
		return nil, ErrNoBuildInfo
	}
	if phoff < 0 || phoff > maxHeaders || phentsize < 32 ||
		phoff+int64(phentsize*phnum) > int64(len(head)) {
		return nil, ErrNoBuildInfo
	}
	var segs []segment
	for i := range phnum {
		ph := head[phoff+int64(i*phentsize):]
		if seg, ok := writable(ph, bo, is64); ok {
			segs = append(segs, seg)
		}
	}
	slices.SortFunc(segs, func(a, b segment) int { return int(a.off - b.off) })
	return segs, nil
}

// writable returns the file range of program header ph when it is a
// loadable segment that is writable and not executable.
func writable(ph []byte, bo binary.ByteOrder, is64 bool) (segment, bool) {
	var typ, flags uint32
	var off, size uint64
	if is64 {
		if len(ph) < 56 {
			return segment{}, false
		}
		typ, flags = bo.Uint32(ph), bo.Uint32(ph[4:])
		off, size = bo.Uint64(ph[8:]), bo.Uint64(ph[32:])
	} else {
		typ, flags = bo.Uint32(ph), bo.Uint32(ph[24:])
		off, size = uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[16:]))
	}
	if typ != ptLoad || flags&(pfX|pfW) != pfW || size == 0 || off > 1<<62 || size > 1<<62 {
		return segment{}, false
	}
	return segment{off: int64(off), end: int64(off + size)}, true
}

// skip discards n bytes.
func (s *stream) skip(n int64) error {
	m, err := s.br.Discard(int(min(n, 1<<62)))
	s.pos += int64(m)
	return err
}

// search scans seg from its start (or from where the stream is, when that
// is past it) for the first aligned build info magic and decodes the blob
// there. found is false when seg ends, or the file does, without one.
func (s *stream) search(seg segment) (vers, mod string, found bool, err error) {
	start := max(seg.off, s.pos)
	start += (buildInfoAlign - start%buildInfoAlign) % buildInfoAlign
	for start < seg.end {
		if err := s.skip(start - s.pos); err != nil {
			return "", "", false, nil
		}
		w, _ := s.br.Peek(int(min(seg.end-s.pos, maxHeaders)))
		if len(w) < len(buildInfoMagic) {
			return "", "", false, nil
		}
		if i := alignedIndex(w); i >= 0 {
			if err := s.skip(int64(i)); err != nil {
				return "", "", false, nil
			}
			vers, mod, err := s.decode()
			return vers, mod, err == nil, err
		}
		// Keep the tail that may hold the start of a magic.
		start = s.pos + int64(len(w)-len(buildInfoMagic)+1)
		start += (buildInfoAlign - start%buildInfoAlign) % buildInfoAlign
	}
	return "", "", false, nil
}

// alignedIndex returns the first index in w, a multiple of the alignment,
// where the magic starts, or -1. w starts aligned.
func alignedIndex(w []byte) int {
	for off := 0; ; {
		i := bytes.Index(w[off:], []byte(buildInfoMagic))
		if i < 0 {
			return -1
		}
		if (off+i)%buildInfoAlign == 0 {
			return off + i
		}
		off += i + 1
	}
}

// decode reads the build info blob the stream is at.
func (s *stream) decode() (vers, mod string, err error) {
	hdr, err := s.br.Peek(buildInfoHeader)
	if err != nil {
		return "", "", ErrNoBuildInfo
	}
	if hdr[15]&flagsInline == 0 {
		return "", "", ErrOldFormat
	}
	if err := s.skip(buildInfoHeader); err != nil {
		return "", "", ErrNoBuildInfo
	}
	if vers, err = s.readString(); err != nil {
		return "", "", err
	}
	if mod, err = s.readString(); err != nil {
		return "", "", err
	}
	return vers, mod, nil
}

// readString reads one varint-length-prefixed string.
func (s *stream) readString() (string, error) {
	n, err := binary.ReadUvarint(s.br)
	if err != nil || n > maxInfoString {
		return "", fmt.Errorf("%w: bad string length", ErrNoBuildInfo)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(s.br, buf); err != nil {
		return "", fmt.Errorf("%w: truncated build info", ErrNoBuildInfo)
	}
	s.pos += int64(n)
	return string(buf), nil
}

// parseInfo turns the raw version and module strings into modules, as
// [debug/buildinfo] does: the module list is framed by two sentinels.
func parseInfo(vers, mod string) ([]Module, error) {
	if len(mod) >= 2*infoSentinelSize+1 && mod[len(mod)-infoSentinelSize-1] == '\n' {
		mod = mod[infoSentinelSize : len(mod)-infoSentinelSize]
	} else {
		mod = ""
	}
	bi, err := debug.ParseBuildInfo(mod)
	if err != nil {
		return nil, fmt.Errorf("read go build info: %w", err)
	}
	bi.GoVersion = vers
	return modules(bi), nil
}
