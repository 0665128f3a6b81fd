package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"

	"crawlspace.dev/services/platform/bus"
)

// A stored batch is its events one after another, each as three
// length-prefixed fields (uvarint lengths): subject, message id and the
// encoded event.

// appendEvent appends one event, already encoded, to a stored batch.
func appendEvent(b []byte, e bus.Envelope) []byte {
	for _, f := range [][]byte{[]byte(e.Subject), []byte(e.MsgID), e.Data} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// errCorrupt marks a stored batch that does not decode.
var errCorrupt = errors.New("corrupt stored batch")

// decodeBatch returns the events of a stored batch. The events' Data
// alias b.
func decodeBatch(b []byte) ([]bus.Envelope, error) {
	var out []bus.Envelope
	for len(b) > 0 {
		var f [3][]byte
		for i := range f {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)-k) {
				return nil, fmt.Errorf("%w: event %d field %d", errCorrupt, len(out), i)
			}
			f[i], b = b[k:k+int(n)], b[k+int(n):]
		}
		out = append(out, bus.Envelope{Subject: string(f[0]), MsgID: string(f[1]),
			Data: f[2]})
	}
	return out, nil
}
