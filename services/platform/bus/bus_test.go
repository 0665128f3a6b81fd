package bus_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/store"
	"crawlspace.dev/services/platform/store/storetest"
)

// consume runs h on image.named until the test ends, with fast retries.
func consume(t *testing.T, b *bus.Bus, pool store.Failures, attempts int, ackWait time.Duration,
	h bus.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(ctx, bus.ConsumerConfig{
			Durable:     "test",
			Subject:     crawlspacev1.SubjectImageNamed,
			MaxAttempts: attempts,
			Backoff:     []time.Duration{10 * time.Millisecond},
			AckWait:     ackWait,
			Failures:    pool,
		}, h)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume: %v", err)
		}
	})
}

func publish(t *testing.T, b *bus.Bus, id, ref string) {
	t.Helper()
	ev := &crawlspacev1.ImageNamed{Ref: ref, RunId: "run1", NamedAt: timestamppb.Now()}
	if err := b.Publish(t.Context(), crawlspacev1.SubjectImageNamed, id, ev); err != nil {
		t.Fatal(err)
	}
}

// failures subscribes to failure.recorded and returns the channel of events.
func failures(t *testing.T, b *bus.Bus) chan *nats.Msg {
	t.Helper()
	ch := make(chan *nats.Msg, 16)
	sub, err := b.Conn().ChanSubscribe(b.Subject(crawlspacev1.SubjectFailureRecorded), ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return ch
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConsumeRetriesThenSucceeds(t *testing.T) {
	b := bustest.New(t)
	pool, _ := storetest.New(t)
	var calls atomic.Int32
	consume(t, b, store.Failures{Pool: pool}, 5, 30*time.Second,
		func(_ context.Context, m *bus.Message) error {
			if calls.Add(1) < 3 {
				return errors.New("registry unavailable")
			}
			if m.Attempt != 3 {
				t.Errorf("attempt = %d, want 3", m.Attempt)
			}
			return nil
		})
	publish(t, b, "named:1", "example/a:1")
	waitFor(t, "third attempt", func() bool { return calls.Load() >= 3 })
	time.Sleep(200 * time.Millisecond)
	if n := calls.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM failures").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d failures recorded, want 0", n)
	}
}

func TestConsumeRecordsFailuresAndMovesOn(t *testing.T) {
	b := bustest.New(t)
	pool, _ := storetest.New(t)
	events := failures(t, b)
	var mu sync.Mutex
	seen := map[string]int{}
	consume(t, b, store.Failures{Pool: pool}, 3, 30*time.Second,
		func(_ context.Context, m *bus.Message) error {
			var ev crawlspacev1.ImageNamed
			if err := bus.Decode(m.Data, &ev); err != nil {
				return err
			}
			mu.Lock()
			seen[ev.Ref]++
			mu.Unlock()
			switch ev.Ref {
			case "always/fails:1":
				return errors.New("connection refused")
			case "panics:1":
				panic("boom")
			}
			return nil
		})

	// A payload that is not an event at all: a poison message.
	if _, err := b.Conn().Request(b.Subject(crawlspacev1.SubjectImageNamed), []byte("{not json"),
		5*time.Second); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "named:fails", "always/fails:1")
	publish(t, b, "named:panics", "panics:1")
	publish(t, b, "named:ok", "fine:1")

	waitFor(t, "three failures", func() bool {
		var n int
		_ = pool.QueryRow(t.Context(), "SELECT count(*) FROM failures").Scan(&n)
		return n == 3
	})
	rows, err := pool.Query(t.Context(),
		"SELECT ref, attempts, reason FROM failures ORDER BY stream_seq")
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		ref      string
		attempts int
		reason   string
	}
	var got []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.ref, &r.attempts, &r.reason); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []rec{
		{"", 1, "malformed message: "},
		{"always/fails:1", 3, "connection refused"},
		{"panics:1", 1, "permanent failure: handler panicked: boom"},
	}
	for i, w := range want {
		if i >= len(got) || got[i].ref != w.ref || got[i].attempts != w.attempts ||
			len(got[i].reason) < len(w.reason) || got[i].reason[:len(w.reason)] != w.reason {
			t.Errorf("failure %d = %+v, want %+v", i, got, w)
		}
	}
	mu.Lock()
	if seen["fine:1"] != 1 {
		t.Errorf("the good message was handled %d times, want 1", seen["fine:1"])
	}
	mu.Unlock()
	for range 3 {
		select {
		case <-events:
		case <-time.After(5 * time.Second):
			t.Fatal("failure.recorded not published for every failure")
		}
	}
}

func TestConsumeReportsProgressOnLongWork(t *testing.T) {
	b := bustest.New(t)
	pool, _ := storetest.New(t)
	var calls atomic.Int32
	consume(t, b, store.Failures{Pool: pool}, 5, time.Second,
		func(ctx context.Context, _ *bus.Message) error {
			calls.Add(1)
			select {
			case <-time.After(2500 * time.Millisecond):
			case <-ctx.Done():
			}
			return nil
		})
	publish(t, b, "named:slow", "slow:1")
	waitFor(t, "the slow message", func() bool { return calls.Load() >= 1 })
	time.Sleep(3500 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Errorf("a message running 2.5x its ack wait was delivered %d times, want 1", n)
	}
}

func TestPublishDeduplicatesByMessageID(t *testing.T) {
	b := bustest.New(t)
	pool, _ := storetest.New(t)
	var calls atomic.Int32
	consume(t, b, store.Failures{Pool: pool}, 5, 30*time.Second,
		func(context.Context, *bus.Message) error { calls.Add(1); return nil })
	publish(t, b, "named:same", "dup:1")
	publish(t, b, "named:same", "dup:1")
	publish(t, b, "named:other", "dup:1")
	waitFor(t, "two messages", func() bool { return calls.Load() >= 2 })
	time.Sleep(300 * time.Millisecond)
	if n := calls.Load(); n != 2 {
		t.Errorf("handled %d messages, want 2 (one duplicate dropped)", n)
	}
}
