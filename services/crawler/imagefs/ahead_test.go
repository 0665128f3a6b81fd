package imagefs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

func TestAheadReader(t *testing.T) {
	data := make([]byte, 3*aheadBufferSize+12345)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	broken := errors.New("broken stream")
	tests := []struct {
		name    string
		src     io.Reader
		want    []byte
		wantErr error
	}{
		{"empty", bytes.NewReader(nil), nil, nil},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data[:5000])),
			data[:5000], nil},
		{"several buffers", bytes.NewReader(data), data, nil},
		{"an error after data", io.MultiReader(bytes.NewReader(data),
			iotest.ErrReader(broken)), data, broken},
		{"data with its error", iotest.DataErrReader(bytes.NewReader(data[:100])),
			data[:100], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := readAhead(tt.src)
			defer a.Close()
			got, err := io.ReadAll(iotest.HalfReader(a))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("read error %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("read %d bytes, want %d, or they differ", len(got), len(tt.want))
			}
		})
	}
}

// TestAheadReaderClose stops a reader mid-stream: the goroutine stops, at
// most its buffers ahead of what was read, and the source is left where
// it stopped.
func TestAheadReaderClose(t *testing.T) {
	src := bytes.NewReader(make([]byte, 100*aheadBufferSize))
	a := readAhead(src)
	if _, err := io.ReadFull(a, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a.Close()
	left := src.Len()
	if read := int(src.Size()) - left; read > (aheadBuffers+1)*aheadBufferSize {
		t.Errorf("read %d bytes ahead of 10, want at most %d buffers", read, aheadBuffers+1)
	}
	select {
	case <-a.done:
	default:
		t.Fatal("Close returned before the goroutine stopped")
	}
	if src.Len() != left {
		t.Errorf("the source was read after Close")
	}
}
