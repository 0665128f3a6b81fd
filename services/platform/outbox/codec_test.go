package outbox

import (
	"bytes"
	"errors"
	"testing"

	"crawlspace.dev/services/platform/bus"
)

func TestBatchCodec(t *testing.T) {
	envs := []bus.Envelope{
		{Subject: "image.matched", MsgID: "matched:sha256:a", Data: []byte(`{"digest":"a"}`)},
		{Subject: "", MsgID: "", Data: []byte{}},
		{Subject: "notice.parsed", MsgID: string(bytes.Repeat([]byte("x"), 300)),
			Data: []byte("{}")},
	}
	var b []byte
	for _, e := range envs {
		b = appendEvent(b, e)
	}
	got, err := decodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(envs) {
		t.Fatalf("decoded %d events, want %d", len(got), len(envs))
	}
	for i, e := range envs {
		if got[i].Subject != e.Subject || got[i].MsgID != e.MsgID ||
			!bytes.Equal(got[i].Data, e.Data) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], e)
		}
	}
	for _, bad := range [][]byte{{0x80}, {0x05, 'a'}, append(b, 0x01)} {
		if _, err := decodeBatch(bad); !errors.Is(err, errCorrupt) {
			t.Errorf("decodeBatch(%q) = %v, want a corrupt batch", bad, err)
		}
	}
}

// FuzzDecodeBatch checks that no stored bytes make decoding panic, and
// that what decodes encodes to bytes that decode the same.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(appendEvent(nil, bus.Envelope{Subject: "s", MsgID: "m", Data: []byte("d")}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		envs, err := decodeBatch(b)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range envs {
			again = appendEvent(again, e)
		}
		back, err := decodeBatch(again)
		if err != nil || len(back) != len(envs) {
			t.Fatalf("%q re-encoded does not decode: %v", b, err)
		}
		for i := range envs {
			if back[i].Subject != envs[i].Subject || back[i].MsgID != envs[i].MsgID ||
				!bytes.Equal(back[i].Data, envs[i].Data) {
				t.Errorf("event %d of %q changed in a round trip", i, b)
			}
		}
	})
}
