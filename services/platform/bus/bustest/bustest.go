// Package bustest gives tests a [bus.Bus] on the NATS JetStream server named
// by CRAWLSPACE_TEST_NATS, under a prefix of its own so that tests sharing
// the server do not see each other's messages.
package bustest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"crawlspace.dev/services/platform/bus"
)

// New connects to CRAWLSPACE_TEST_NATS and declares the streams under a
// fresh prefix. Without the variable the test is skipped, or fails when CI
// is set.
func New(t testing.TB) *bus.Bus {
	t.Helper()
	url := os.Getenv("CRAWLSPACE_TEST_NATS")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CRAWLSPACE_TEST_NATS is not set; scripts/test.sh sets it")
		}
		t.Skip("CRAWLSPACE_TEST_NATS is not set; run scripts/test.sh")
	}
	nc, err := bus.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	bs, err := bus.New(nc, bus.Options{Prefix: "t" + hex.EncodeToString(b)})
	if err != nil {
		t.Fatal(err)
	}
	if err := bs.Declare(t.Context()); err != nil {
		t.Fatal(err)
	}
	return bs
}
