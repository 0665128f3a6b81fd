package version

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrBadLines is returned by [CompareLines] when some lines could not be
// compared.
var ErrBadLines = errors.New("some lines could not be compared")

// CompareLines reads "A B" pairs from r, one per line, and writes -1, 0 or
// 1 per pair to out in s's order. A line that is not two fields, or holds a
// version s rejects, is reported on errOut with its line number and has no
// answer on out; CompareLines then returns an error wrapping [ErrBadLines]
// after reading everything. Blank lines and lines starting with # are
// skipped.
func CompareLines(r io.Reader, out, errOut io.Writer, s Scheme) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	w := bufio.NewWriter(out)
	bad := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c, err := compareLine(line, s)
		if err != nil {
			bad++
			fmt.Fprintf(errOut, "line %d: %v\n", n, err)
			continue
		}
		fmt.Fprintln(w, c)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read pairs: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write answers: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("%w: %d", ErrBadLines, bad)
	}
	return nil
}

func compareLine(line string, s Scheme) (int, error) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return 0, fmt.Errorf("want two versions, got %d fields", len(f))
	}
	c, err := s.Compare(f[0], f[1])
	if err != nil {
		return 0, fmt.Errorf("compare %q %q: %w", f[0], f[1], err)
	}
	return c, nil
}
