// Package bus carries the pipeline's events over NATS JetStream: it declares
// the streams, publishes protojson events with a message id taken from their
// content, and runs durable pull consumers that retry with backoff, report
// progress on long work, and record what they give up on.
package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// ErrMalformed marks a message that can never be processed, such as one that
// does not decode. A handler returning an error that wraps it (or
// [ErrPermanent]) has its message recorded as failed without retries.
var ErrMalformed = errors.New("malformed message")

// ErrPermanent marks a failure that retrying cannot mend.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err so that the consumer gives up on its message at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// streams are the JetStream streams crawlspace declares, by subject family.
var streams = []struct{ name, subjects string }{
	{"IMAGES", "image.>"},
	{"NOTICES", "notice.>"},
	{"FAILURES", "failure.>"},
}

// Options tunes a [Bus]. The zero value is the production setting.
type Options struct {
	// Prefix, when set, is prepended to every stream name and subject
	// ("t1" makes stream T1_IMAGES and subject t1.image.named), so that
	// several pipelines can share one NATS server. Tests use it.
	Prefix string
	// MaxAge bounds how long a stream keeps messages. Zero means 7 days.
	MaxAge time.Duration
}

// Bus publishes and consumes crawlspace events on one JetStream context. It
// is safe for concurrent use.
type Bus struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	opts Options
}

// publishWindow is how many asynchronous publishes may await their
// acknowledgement at once: enough for a fleet-wide re-match's events to
// stream without waiting.
const publishWindow = 16384

// New returns a Bus on nc. It declares nothing; call [Bus.Declare].
func New(nc *nats.Conn, opts Options) (*Bus, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(publishWindow))
	if err != nil {
		return nil, fmt.Errorf("open jetstream: %w", err)
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	return &Bus{nc: nc, js: js, opts: opts}, nil
}

// Conn returns the NATS connection the bus uses.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Subject returns the full subject for one of the names in proto's
// crawlspace/v1 subjects, with the bus's prefix applied.
func (b *Bus) Subject(name string) string {
	if b.opts.Prefix == "" {
		return name
	}
	return b.opts.Prefix + "." + name
}

func (b *Bus) streamName(name string) string {
	if b.opts.Prefix == "" {
		return name
	}
	return strings.ToUpper(b.opts.Prefix) + "_" + name
}

// streamFor returns the stream that holds subject name (unprefixed).
func (b *Bus) streamFor(name string) (string, error) {
	family, _, _ := strings.Cut(name, ".")
	for _, s := range streams {
		if strings.HasPrefix(s.subjects, family+".") {
			return b.streamName(s.name), nil
		}
	}
	return "", fmt.Errorf("no stream holds subject %q", name)
}

// Declare creates or updates every stream. It is idempotent, and safe to
// call from every replica at start.
func (b *Bus) Declare(ctx context.Context) error {
	for _, s := range streams {
		cfg := jetstream.StreamConfig{
			Name:       b.streamName(s.name),
			Subjects:   []string{b.Subject(s.subjects)},
			Retention:  jetstream.LimitsPolicy,
			Storage:    jetstream.FileStorage,
			MaxAge:     b.opts.MaxAge,
			Duplicates: 2 * time.Minute,
		}
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("declare stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// Publish sends m as protojson to subject name (unprefixed) and waits for
// the stream's acknowledgement. msgID must identify the content: JetStream
// drops a second message with the same id inside its duplicate window.
func (b *Bus) Publish(ctx context.Context, name, msgID string, m proto.Message) error {
	data, err := Encode(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if _, err := b.js.Publish(ctx, b.Subject(name), data, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publish %s %s: %w", name, msgID, err)
	}
	return nil
}

// Envelope is one message for [Bus.PublishAll].
type Envelope struct {
	// Subject is the unprefixed subject name.
	Subject string
	// MsgID identifies the content, as for [Bus.Publish].
	MsgID string
	// Message is the event.
	Message proto.Message
	// Data, when set, is the event already encoded with [Encode], and
	// Message is not read.
	Data []byte
}

// Encode returns m in the bus's wire format, protojson.
func Encode(m proto.Message) ([]byte, error) { return protojson.Marshal(m) }

// PublishAll publishes every envelope without waiting for each ack in turn,
// then waits for all of them. It returns the first error.
func (b *Bus) PublishAll(ctx context.Context, envs []Envelope) error {
	futures := make([]jetstream.PubAckFuture, 0, len(envs))
	for _, e := range envs {
		data := e.Data
		if data == nil {
			var err error
			if data, err = Encode(e.Message); err != nil {
				return fmt.Errorf("encode %s: %w", e.Subject, err)
			}
		}
		f, err := b.js.PublishAsync(b.Subject(e.Subject), data, jetstream.WithMsgID(e.MsgID))
		if err != nil {
			return fmt.Errorf("publish %s %s: %w", e.Subject, e.MsgID, err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish %s %s: %w", envs[i].Subject, envs[i].MsgID, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Decode reads protojson data into m. A decoding error wraps [ErrMalformed].
func Decode(data []byte, m proto.Message) error {
	opts := protojson.UnmarshalOptions{DiscardUnknown: true}
	if err := opts.Unmarshal(data, m); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}
