package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"crawlspace.dev/services/crawler"
)

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws a crawl's progress on one terminal line, redrawn at
// most ten times a second. It is safe for concurrent use.
type progressBar struct {
	w    io.Writer
	mu   sync.Mutex
	last time.Time
	drew bool
}

// report is a [crawler.CrawlOptions] Progress callback.
func (b *progressBar) report(p crawler.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now := time.Now(); now.Sub(b.last) >= 100*time.Millisecond || p.Read == p.Size {
		b.last = now
		b.drew = true
		fmt.Fprintf(b.w, "\r\033[Klayer %d/%d %s %s", p.Layer, p.Layers, short(p.Digest),
			bar(p.Read, p.Size))
	}
}

// done clears the line the bar drew on.
func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drew {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

// bar renders read of size as a 20-cell bar and megabytes, or megabytes
// alone when the size is unknown.
func bar(read, size int64) string {
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	if size <= 0 {
		return fmt.Sprintf("%.1f MB", mb(read))
	}
	cells := int(min(read, size) * 20 / size)
	fill := make([]byte, 20)
	for i := range fill {
		fill[i] = ' '
		if i < cells {
			fill[i] = '#'
		}
	}
	return fmt.Sprintf("[%s] %.1f/%.1f MB", fill, mb(read), mb(size))
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}
