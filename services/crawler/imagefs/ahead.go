package imagefs

import (
	"io"
	"sync"
)

// Buffers of an [aheadReader]: how many, and how large each.
const (
	aheadBuffers    = 4
	aheadBufferSize = 256 << 10
)

// aheadReader reads r on a goroutine of its own, up to aheadBuffers
// buffers ahead of its reader, so that decompressing a layer overlaps with
// parsing its tar instead of adding to it. [aheadReader.Close] must be
// called before r is used again; it stops the goroutine and waits for it,
// leaving r just after the last byte read ahead.
type aheadReader struct {
	full  chan chunk
	free  chan []byte
	stop  chan struct{}
	done  chan struct{}
	close sync.Once
	cur   chunk // the chunk being read
	off   int   // how much of cur.b was read
	ended bool  // cur held r's last bytes and error
}

// chunk is what one read ahead gave: bytes, then r's error if it ended.
type chunk struct {
	b   []byte
	err error
}

// readAhead starts the goroutine that reads r.
func readAhead(r io.Reader) *aheadReader {
	a := &aheadReader{full: make(chan chunk, aheadBuffers),
		free: make(chan []byte, aheadBuffers), stop: make(chan struct{}),
		done: make(chan struct{})}
	for range aheadBuffers {
		a.free <- make([]byte, aheadBufferSize)
	}
	go a.fill(r)
	return a
}

// fill reads r into free buffers and queues them, until r ends or Close.
func (a *aheadReader) fill(r io.Reader) {
	defer close(a.done)
	for {
		var b []byte
		select {
		case b = <-a.free:
		case <-a.stop:
			return
		}
		n := 0
		var err error
		for n < len(b) && err == nil {
			var k int
			k, err = r.Read(b[n:])
			n += k
		}
		select {
		case a.full <- chunk{b: b[:n], err: err}:
		case <-a.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read returns the bytes read ahead, in order, then r's error.
func (a *aheadReader) Read(p []byte) (int, error) {
	for a.off == len(a.cur.b) {
		if a.ended {
			return 0, a.cur.err
		}
		if a.cur.b != nil {
			a.free <- a.cur.b[:cap(a.cur.b)]
		}
		a.cur, a.off = <-a.full, 0
		a.ended = a.cur.err != nil
	}
	n := copy(p, a.cur.b[a.off:])
	a.off += n
	return n, nil
}

// Close stops the goroutine and waits until it no longer reads r. Calls
// after the first do nothing.
func (a *aheadReader) Close() {
	a.close.Do(func() {
		close(a.stop)
		<-a.done
	})
}
