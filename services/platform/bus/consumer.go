package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/telemetry"
)

// Message is one delivery handed to a [Handler].
type Message struct {
	// Subject is the subject without the bus's prefix, such as "image.named".
	Subject string
	// Data is the protojson payload.
	Data []byte
	// Attempt counts deliveries of this message, starting at 1.
	Attempt int
}

// Handler processes one message. It must be idempotent: a message may be
// delivered more than once. An error wrapping [ErrMalformed] or
// [ErrPermanent] gives up at once; any other error is retried.
type Handler func(ctx context.Context, m *Message) error

// Failure describes a message that a consumer gave up on.
type Failure struct {
	Consumer  string
	Stream    string
	StreamSeq uint64
	Subject   string
	Ref       string
	RunID     string
	Reason    string
	Attempts  int
	Payload   []byte
}

// FailureRecorder keeps failures so that nothing given up on is lost.
// Recording the same (Consumer, Stream, StreamSeq) twice keeps one record.
type FailureRecorder interface {
	RecordFailure(ctx context.Context, f Failure) error
}

// ConsumerConfig describes a durable pull consumer. Replicas of a stage that
// use the same Durable share its messages: each goes to one of them.
type ConsumerConfig struct {
	// Durable is the consumer's name, such as "crawler".
	Durable string
	// Subject is the unprefixed subject to consume, such as "image.named".
	Subject string
	// Workers is how many messages this process handles at once. Zero
	// means 1.
	Workers int
	// MaxAttempts is how many deliveries a message gets before it is
	// recorded as failed. Zero means 5.
	MaxAttempts int
	// Backoff is the delay before each retry; the last entry repeats.
	// Empty means 1s, 4s, 15s, 60s.
	Backoff []time.Duration
	// AckWait is how long the server waits for an ack or a progress report
	// before redelivering. Zero means 30s; handlers that run longer report
	// progress every third of it.
	AckWait time.Duration
	// Metrics receives per-message counts and durations, if set.
	Metrics *telemetry.Stage
	// Failures keeps messages given up on. Required.
	Failures FailureRecorder
	// Logger logs retries and failures. Nil means slog.Default().
	Logger *slog.Logger
}

func (c *ConsumerConfig) defaults() {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 4 * time.Second, 15 * time.Second, time.Minute}
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Consume declares the durable consumer idempotently and handles its
// messages until ctx is cancelled. It returns nil on cancellation.
func (b *Bus) Consume(ctx context.Context, cfg ConsumerConfig, h Handler) error {
	cfg.defaults()
	if cfg.Failures == nil {
		return fmt.Errorf("consume %s: no failure recorder", cfg.Durable)
	}
	stream, err := b.streamFor(cfg.Subject)
	if err != nil {
		return err
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		FilterSubject: b.Subject(cfg.Subject),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		// The consumer gives up by itself after MaxAttempts; the server's
		// limit only stops a message that kills its worker every time.
		MaxDeliver:    cfg.MaxAttempts + 2,
		MaxAckPending: 64 * cfg.Workers,
	})
	if err != nil {
		return fmt.Errorf("declare consumer %s: %w", cfg.Durable, err)
	}

	var wg sync.WaitGroup
	errs := make([]error, cfg.Workers)
	for i := range cfg.Workers {
		wg.Go(func() { errs[i] = b.work(ctx, cons, stream, &cfg, h) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// work pulls and handles messages one at a time until ctx is done.
func (b *Bus) work(ctx context.Context, cons jetstream.Consumer, stream string,
	cfg *ConsumerConfig, h Handler) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		return fmt.Errorf("consume %s: %w", cfg.Durable, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			cfg.Logger.WarnContext(ctx, "pull failed", "consumer", cfg.Durable, "err", err)
			continue
		}
		b.handle(ctx, msg, stream, cfg, h)
	}
}

// handle runs h on one message and acks, naks or terminates it.
func (b *Bus) handle(ctx context.Context, msg jetstream.Msg, stream string,
	cfg *ConsumerConfig, h Handler) {
	meta, err := msg.Metadata()
	if err != nil {
		cfg.Logger.WarnContext(ctx, "message without metadata", "consumer", cfg.Durable, "err", err)
		_ = msg.Term()
		return
	}
	m := &Message{
		Subject: strings.TrimPrefix(msg.Subject(), prefixOf(b.opts.Prefix)),
		Data:    msg.Data(),
		Attempt: int(meta.NumDelivered),
	}

	start := time.Now()
	err = b.run(ctx, msg, cfg.AckWait, h, m)
	if ctx.Err() != nil && err != nil {
		// Shutting down: leave the message for redelivery to another replica.
		_ = msg.Nak()
		return
	}
	cfg.Metrics.Observe(time.Since(start), err)
	if err == nil {
		if err := msg.Ack(); err != nil {
			cfg.Logger.WarnContext(ctx, "ack failed", "consumer", cfg.Durable, "err", err)
		}
		return
	}

	final := errors.Is(err, ErrMalformed) || errors.Is(err, ErrPermanent) ||
		m.Attempt >= cfg.MaxAttempts
	if !final {
		delay := cfg.Backoff[min(m.Attempt-1, len(cfg.Backoff)-1)]
		cfg.Logger.InfoContext(ctx, "retrying message", "consumer", cfg.Durable,
			"attempt", m.Attempt, "delay", delay, "err", err)
		cfg.Metrics.Retried()
		_ = msg.NakWithDelay(delay)
		return
	}

	f := Failure{
		Consumer:  cfg.Durable,
		Stream:    stream,
		StreamSeq: meta.Sequence.Stream,
		Subject:   m.Subject,
		Reason:    err.Error(),
		Attempts:  m.Attempt,
		Payload:   m.Data,
	}
	f.Ref, f.RunID = peekIdentity(m.Data)
	if err := b.fail(ctx, cfg, f); err != nil {
		// The failure could not be kept: let the message come back rather
		// than lose it.
		cfg.Logger.ErrorContext(ctx, "record failure", "consumer", cfg.Durable, "err", err)
		_ = msg.NakWithDelay(cfg.Backoff[len(cfg.Backoff)-1])
		return
	}
	cfg.Metrics.Failed()
	cfg.Logger.WarnContext(ctx, "message failed", "consumer", cfg.Durable,
		"subject", f.Subject, "ref", f.Ref, "attempts", f.Attempts, "err", err)
	_ = msg.Term()
}

// run calls h while reporting progress every third of the ack wait, and
// turns a panic into an error so that one message cannot stop a worker.
func (b *Bus) run(ctx context.Context, msg jetstream.Msg, ackWait time.Duration,
	h Handler, m *Message) (err error) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: handler panicked: %v", ErrPermanent, r)
		}
	}()
	return h(ctx, m)
}

// fail records f and announces it on failure.recorded.
func (b *Bus) fail(ctx context.Context, cfg *ConsumerConfig, f Failure) error {
	if err := cfg.Failures.RecordFailure(ctx, f); err != nil {
		return err
	}
	ev := &crawlspacev1.FailureRecorded{
		Stage:    cfg.Durable,
		Subject:  f.Subject,
		Ref:      f.Ref,
		RunId:    f.RunID,
		Reason:   f.Reason,
		Attempts: int32(f.Attempts),
	}
	id := fmt.Sprintf("failed:%s:%s:%d", f.Consumer, f.Stream, f.StreamSeq)
	return b.Publish(ctx, crawlspacev1.SubjectFailureRecorded, id, ev)
}

// peekIdentity reads the ref and run id from any event's JSON, when the
// payload is JSON at all, so that a failure names what it was about.
func peekIdentity(data []byte) (ref, runID string) {
	var v struct {
		Ref    string `json:"ref"`
		RunID  string `json:"runId"`
		RunID2 string `json:"run_id"`
	}
	if json.Unmarshal(data, &v) != nil {
		return "", ""
	}
	if v.RunID == "" {
		v.RunID = v.RunID2
	}
	return v.Ref, v.RunID
}

func prefixOf(p string) string {
	if p == "" {
		return ""
	}
	return p + "."
}
