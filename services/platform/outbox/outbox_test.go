package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/outbox"
	"crawlspace.dev/services/platform/store/storetest"
)

// events returns n image.matched envelopes whose ids start with tag.
func events(tag string, n int) []bus.Envelope {
	out := make([]bus.Envelope, n)
	for i := range out {
		d := fmt.Sprintf("sha256:%s%d", tag, i)
		out[i] = bus.Envelope{Subject: crawlspacev1.SubjectImageMatched, MsgID: "m:" + d,
			Message: &crawlspacev1.ImageMatched{Digest: d, Findings: int32(i)}}
	}
	return out
}

// received collects the digests of image.matched events published on b.
type received struct {
	mu      sync.Mutex
	digests map[string]int
}

func listen(t *testing.T, b *bus.Bus) *received {
	t.Helper()
	r := &received{digests: map[string]int{}}
	sub, err := b.Conn().Subscribe(b.Subject(crawlspacev1.SubjectImageMatched),
		func(m *nats.Msg) {
			var ev crawlspacev1.ImageMatched
			if err := bus.Decode(m.Data, &ev); err != nil {
				t.Errorf("decode %q: %v", m.Data, err)
				return
			}
			r.mu.Lock()
			r.digests[ev.GetDigest()]++
			r.mu.Unlock()
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return r
}

// wait returns the digests received once want of them have arrived, or
// after two seconds.
func (r *received) wait(want int) map[string]int {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		r.mu.Lock()
		n := len(r.digests)
		r.mu.Unlock()
		if n >= want {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Anything sent twice would have arrived by now too.
	time.Sleep(50 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for d, n := range r.digests {
		out[d] = n
	}
	return out
}

// put stores envs under source in a committed transaction.
func put(t *testing.T, pool *pgxpool.Pool, o *outbox.Outbox, source string,
	envs []bus.Envelope) *outbox.Batch {
	t.Helper()
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := o.Put(ctx, tx, source, envs)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func stored(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPutThenSend(t *testing.T) {
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	got := listen(t, b)
	o := outbox.New(pool, b, quiet())

	batch := put(t, pool, o, "work-1", events("a", 3))
	if batch.Len() != 3 {
		t.Fatalf("batch of %d events, want 3", batch.Len())
	}
	if n := stored(t, pool); n != 1 {
		t.Fatalf("%d stored batches before sending, want 1", n)
	}
	if err := batch.Send(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := got.wait(3); len(d) != 3 || d["sha256:a0"] != 1 || d["sha256:a2"] != 1 {
		t.Fatalf("received %v, want a0, a1 and a2 once each", d)
	}
	if n := stored(t, pool); n != 0 {
		t.Fatalf("%d stored batches after sending, want 0", n)
	}
}

func TestRolledBackPutStoresNothing(t *testing.T) {
	pool, _ := storetest.New(t)
	o := outbox.New(pool, bustest.New(t), quiet())
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Put(ctx, tx, "work-1", events("a", 2)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := stored(t, pool); n != 0 {
		t.Fatalf("%d stored batches after rollback, want 0", n)
	}
	b, err := o.Put(ctx, nil, "work-1", nil)
	if err != nil || b != nil || b.Len() != 0 || b.Send(ctx) != nil {
		t.Fatalf("Put of no events = %v, %v; want a nil batch that sends nothing", b, err)
	}
}

// TestResendAfterFailedSend commits a batch whose publish fails, as when
// the bus goes away between the commit and the publish; the retry of the
// same work sends it, and leaves a younger batch of other work to its
// writer while sending a stale one.
func TestResendAfterFailedSend(t *testing.T) {
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	got := listen(t, b)
	ctx := t.Context()

	broken := outbox.New(pool, bustest.Closed(t, b), quiet())
	batch := put(t, pool, broken, "work-1", events("a", 3))
	if err := batch.Send(ctx); err == nil {
		t.Fatal("Send on a closed connection succeeded")
	}
	put(t, pool, broken, "work-2", events("b", 2))
	put(t, pool, broken, "work-3", events("c", 1))
	if _, err := pool.Exec(ctx, `UPDATE outbox SET created_at = now() - interval '2 minutes'
		WHERE source = 'work-3'`); err != nil {
		t.Fatal(err)
	}

	n, err := outbox.New(pool, b, quiet()).Resend(ctx, "work-1")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Resend counted %d events of work-1, want 3", n)
	}
	d := got.wait(4)
	for _, want := range []string{"sha256:a0", "sha256:a1", "sha256:a2", "sha256:c0"} {
		if d[want] != 1 {
			t.Errorf("%s received %d times, want once (all: %v)", want, d[want], d)
		}
	}
	if d["sha256:b0"] != 0 {
		t.Errorf("work-2's young batch was resent by work-1's retry")
	}
	var left []string
	rows, _ := pool.Query(ctx, `SELECT source FROM outbox`)
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		left = append(left, s)
	}
	if rows.Err() != nil || len(left) != 1 || left[0] != "work-2" {
		t.Fatalf("stored after resend: %v (%v), want work-2 alone", left, rows.Err())
	}
}

// TestConcurrentResendSendsOnce runs replicas' resends at once over many
// stored batches: each batch is sent by exactly one of them.
func TestConcurrentResendSendsOnce(t *testing.T) {
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	o := outbox.New(pool, b, quiet())
	const batches = 40
	for i := range batches {
		put(t, pool, o, "work", events(fmt.Sprintf("x%d-", i), 5))
	}
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			n, err := o.Resend(context.WithoutCancel(t.Context()), "work")
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != batches*5 {
		t.Fatalf("replicas sent %d events in all, want %d", total, batches*5)
	}
	if n := stored(t, pool); n != 0 {
		t.Fatalf("%d batches left, want 0", n)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logged returns a test database and an outbox on a test bus that logs to
// the returned builder, and what the bus receives.
func logged(t *testing.T) (*pgxpool.Pool, *outbox.Outbox, *received, *strings.Builder) {
	t.Helper()
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	logs := &strings.Builder{}
	return pool, outbox.New(pool, b, slog.New(slog.NewTextHandler(logs, nil))), listen(t, b),
		logs
}

// TestResendSkipsBadStaleBatch stores a stale batch that can never be
// sent, its subject in no stream, beside good ones: the caller's own
// batches and the good stale one are sent, and the bad one is kept and
// logged, not returned as the caller's error.
func TestResendSkipsBadStaleBatch(t *testing.T) {
	pool, o, got, logs := logged(t)
	ctx := t.Context()
	bad := []bus.Envelope{{Subject: "nowhere.at.all", MsgID: "x",
		Message: &crawlspacev1.ImageMatched{Digest: "sha256:bad"}}}
	put(t, pool, o, "gone-1", bad)
	put(t, pool, o, "gone-2", events("s", 1))
	put(t, pool, o, "work-1", events("a", 2))
	if _, err := pool.Exec(ctx, `UPDATE outbox SET created_at = now() - interval '2 minutes'
		WHERE source LIKE 'gone-%'`); err != nil {
		t.Fatal(err)
	}
	n, err := o.Resend(ctx, "work-1")
	if err != nil || n != 2 {
		t.Fatalf("Resend = %d, %v; want work-1's 2 events and no error", n, err)
	}
	if d := got.wait(3); d["sha256:a0"] != 1 || d["sha256:a1"] != 1 || d["sha256:s0"] != 1 {
		t.Errorf("received %v, want a0, a1 and the good stale s0", d)
	}
	var left string
	if err := pool.QueryRow(ctx, `SELECT string_agg(source, ',') FROM outbox`).Scan(
		&left); err != nil || left != "gone-1" {
		t.Errorf("stored after resend: %q (%v), want the bad batch alone", left, err)
	}
	if !strings.Contains(logs.String(), "stale events not sent") {
		t.Errorf("the bad batch was not logged: %s", logs.String())
	}
}

// TestResendDropsCorruptBatch stores a batch that does not decode, as
// a damaged row would: it is logged and deleted, and the source's other
// batches are sent.
func TestResendDropsCorruptBatch(t *testing.T) {
	pool, o, got, logs := logged(t)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (source, events)
		VALUES ('work-1', '\x0561'::bytea)`); err != nil {
		t.Fatal(err)
	}
	put(t, pool, o, "work-1", events("a", 1))
	n, err := o.Resend(ctx, "work-1")
	if err != nil || n != 1 {
		t.Fatalf("Resend = %d, %v; want the good batch's event and no error", n, err)
	}
	if d := got.wait(1); d["sha256:a0"] != 1 {
		t.Errorf("received %v, want a0", d)
	}
	if left := stored(t, pool); left != 0 {
		t.Errorf("%d batches left, want the corrupt one deleted too", left)
	}
	if !strings.Contains(logs.String(), "stored events lost") {
		t.Errorf("the corrupt batch was not logged: %s", logs.String())
	}
}

// TestRunSendsStaleBatches leaves a batch whose writer is gone: Run sends
// it without any new work arriving.
func TestRunSendsStaleBatches(t *testing.T) {
	pool, o, got, _ := logged(t)
	ctx, cancel := context.WithCancel(t.Context())
	put(t, pool, o, "gone", events("g", 2))
	if _, err := pool.Exec(ctx,
		`UPDATE outbox SET created_at = now() - interval '2 minutes'`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- o.Run(ctx, 20*time.Millisecond) }()
	d := got.wait(2)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d["sha256:g0"] != 1 || d["sha256:g1"] != 1 {
		t.Fatalf("received %v, want the stale g0 and g1", d)
	}
	if n := stored(t, pool); n != 0 {
		t.Fatalf("%d batches left, want 0", n)
	}
}

func TestCollector(t *testing.T) {
	pool, o, _, _ := logged(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(outbox.Collector(pool))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP crawlspace_outbox_batches Batches of events stored and not yet acknowledged by JetStream.
# TYPE crawlspace_outbox_batches gauge
crawlspace_outbox_batches 0
`), "crawlspace_outbox_batches"); err != nil {
		t.Fatal(err)
	}
	put(t, pool, o, "work", events("a", 1))
	put(t, pool, o, "work", events("b", 1))
	if _, err := pool.Exec(t.Context(),
		`UPDATE outbox SET created_at = now() - interval '90 seconds'
		WHERE id = (SELECT min(id) FROM outbox)`); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	if got["crawlspace_outbox_batches"] != 2 || got["crawlspace_outbox_oldest_seconds"] < 90 {
		t.Fatalf("gathered %v, want 2 batches, the oldest 90 s or more", got)
	}
}
