// Package bustest gives tests a [bus.Bus] on the NATS JetStream server named
// by CRAWLSPACE_TEST_NATS, under a prefix of its own so that tests sharing
// the server do not see each other's messages.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/bus"
)

// New connects to CRAWLSPACE_TEST_NATS and declares the streams under a
// fresh prefix. Without the variable the test is skipped, or fails when CI
// is set.
func New(t testing.TB) *bus.Bus {
	t.Helper()
	url := ocitest.Env(t, "CRAWLSPACE_TEST_NATS")
	nc, err := bus.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "t" + hex.EncodeToString(b)
	bs, err := bus.New(nc, bus.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteStreams(t, url, strings.ToUpper(prefix)+"_") })
	if err := bs.Declare(t.Context()); err != nil {
		t.Fatal(err)
	}
	return bs
}

// deleteStreams deletes the streams on the server at url whose names start
// with prefix, so that a shared server does not keep every test's
// messages. It connects anew, since the test may have closed its own
// connection.
func deleteStreams(t testing.TB, url, prefix string) {
	nc, err := bus.Connect(url)
	if err != nil {
		t.Errorf("delete test streams: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Errorf("delete test streams: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	var mine []string
	for name := range names.Name() {
		if strings.HasPrefix(name, prefix) {
			mine = append(mine, name)
		}
	}
	if err := names.Err(); err != nil {
		t.Errorf("list test streams: %v", err)
	}
	for _, name := range mine {
		if err := js.DeleteStream(ctx, name); err != nil {
			t.Errorf("delete test stream %s: %v", name, err)
		}
	}
}

// Closed returns a bus on the same streams as b whose connection is
// closed, so that every publish on it fails, as when the server goes away
// between a commit and the publish that announces it.
func Closed(t testing.TB, b *bus.Bus) *bus.Bus {
	t.Helper()
	nc, err := nats.Connect(b.Conn().ConnectedUrl())
	if err != nil {
		t.Fatal(err)
	}
	prefix := strings.TrimSuffix(b.Subject("x"), ".x")
	out, err := bus.New(nc, bus.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	return out
}

// Stored returns how many messages of subject name (unprefixed) the
// stream that holds it keeps: what consumers see, after JetStream dropped
// duplicates.
func Stored(t testing.TB, b *bus.Bus, name string) uint64 {
	t.Helper()
	js, err := jetstream.New(b.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stream, err := js.StreamNameBySubject(ctx, b.Subject(name))
	if err != nil {
		t.Fatalf("find the stream of %s: %v", name, err)
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(b.Subject(name)))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[b.Subject(name)]
}
