package crawler

import (
	"io"
	"sync"
)

// Buffers of a [hashingReader]: how many, and how large each.
const (
	hashBuffers    = 4
	hashBufferSize = 256 << 10
)

// hashingReader reads r and writes what it read to w on a goroutine of its
// own, so that verifying a layer's digest overlaps with parsing it instead
// of adding to it. [hashingReader.Close] must be called once reading is
// done; w has then seen every byte read, in order.
type hashingReader struct {
	r     io.Reader
	buf   []byte
	work  chan []byte
	free  chan []byte
	done  chan struct{}
	close sync.Once
}

// newHashingReader starts the goroutine that writes to w.
func newHashingReader(r io.Reader, w io.Writer) *hashingReader {
	h := &hashingReader{r: r, work: make(chan []byte, hashBuffers),
		free: make(chan []byte, hashBuffers), done: make(chan struct{})}
	for range hashBuffers - 1 {
		h.free <- make([]byte, 0, hashBufferSize)
	}
	h.buf = make([]byte, 0, hashBufferSize)
	go func() {
		defer close(h.done)
		for b := range h.work {
			_, _ = w.Write(b)
			h.free <- b[:0]
		}
	}()
	return h
}

// Read reads from r and queues a copy of what it read for w.
func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	for q := p[:n]; len(q) > 0; {
		k := copy(h.buf[len(h.buf):cap(h.buf)], q)
		h.buf, q = h.buf[:len(h.buf)+k], q[k:]
		if len(h.buf) == cap(h.buf) {
			h.work <- h.buf
			h.buf = <-h.free
		}
	}
	return n, err
}

// Close hands w the last bytes read and waits until it has written them.
// Calls after the first do nothing.
func (h *hashingReader) Close() {
	h.close.Do(func() {
		if len(h.buf) > 0 {
			h.work <- h.buf
		}
		close(h.work)
		<-h.done
	})
}
