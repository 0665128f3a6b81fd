// Package matcher is the pipeline's vulnerable package checker. It compares
// every installed package of a crawled image with the notices for the
// image's release, in the ecosystem's own version order, and keeps the
// findings with the time each was first seen and resolved. A new or changed
// notice re-checks every stored image it may concern.
//
// Notices name source packages and images install binary packages: the
// crawler stores each binary's source name and version, and the match is
// on those.
package matcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/outbox"
)

// Durable consumer names the matcher's two handlers are meant to run under.
const (
	// ConsumerImages consumes image.crawled with [Stage.HandleCrawled].
	ConsumerImages = "matcher-images"
	// ConsumerNotices consumes notice.parsed with [Stage.HandleNotice].
	ConsumerNotices = "matcher-notices"
)

// Options configures a [Stage]. The zero value is usable.
type Options struct {
	// Logger receives the stage's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// Stage matches images against notices. It is safe for concurrent use:
// matches of one image are serialized by a row lock in PostgreSQL.
type Stage struct {
	pool *pgxpool.Pool
	bus  *bus.Bus
	out  *outbox.Outbox
	log  *slog.Logger
}

// New returns a Stage that reads and writes through pool and publishes
// image.matched on b.
func New(pool *pgxpool.Pool, b *bus.Bus, opts Options) *Stage {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "matcher")
	return &Stage{pool: pool, bus: b, out: outbox.New(pool, b, log), log: log}
}

// Run sends, once a minute until ctx is done, the image.matched events
// that earlier matches stored and could not send, whichever replica
// stored them. It returns nil once ctx is done.
func (s *Stage) Run(ctx context.Context) error { return s.out.Run(ctx, outbox.Stale) }

// HandleCrawled matches the image an image.crawled event names and
// publishes image.matched, whether or not its findings changed. An event
// that announces a change is stored with the change, and sent again by the
// retry should its first publish fail. It has the [bus.Handler] signature.
func (s *Stage) HandleCrawled(ctx context.Context, m *bus.Message) error {
	var ev crawlspacev1.ImageCrawled
	if err := bus.Decode(m.Data, &ev); err != nil {
		return fmt.Errorf("decode %s: %w", m.Subject, err)
	}
	if ev.GetDigest() == "" {
		return fmt.Errorf("%w: image.crawled without digest", bus.ErrMalformed)
	}
	id := "matched:" + ev.GetDigest() + ":" + ev.GetRunId() + ":" + ev.GetRef()
	// Only a redelivery can find events of its own stored; [Stage.Run]
	// sends those that others left.
	resent := 0
	if m.Attempt > 1 {
		var err error
		if resent, err = s.out.Resend(ctx, id); err != nil {
			return fmt.Errorf("announce earlier match of %s: %w", ev.GetDigest(), err)
		}
	}

	start := time.Now()
	res, err := s.matchImage(ctx, ev.GetDigest(), func(r result) bus.Envelope {
		out := r.event(ev.GetDigest())
		out.Ref, out.RunId = ev.GetRef(), ev.GetRunId()
		return bus.Envelope{Subject: crawlspacev1.SubjectImageMatched, MsgID: id,
			Message: out}
	})
	if errors.Is(err, errImageNotFound) {
		return bus.Permanent(fmt.Errorf("match %s: %w", ev.GetDigest(), err))
	}
	if err != nil {
		return fmt.Errorf("match %s: %w", ev.GetDigest(), err)
	}
	s.log.InfoContext(ctx, "image matched", "digest", ev.GetDigest(), "findings", res.open,
		"added", len(res.added), "resolved", len(res.resolved), "duration", time.Since(start))
	if resent > 0 && !res.changed {
		// An earlier attempt's event, with the same id, said it all.
		return nil
	}
	if err := res.announce(ctx, s.bus); err != nil {
		return fmt.Errorf("announce match of %s: %w", ev.GetDigest(), err)
	}
	return nil
}

// HandleNotice re-matches every stored image that a notice.parsed event
// may concern, a part of the images to a transaction, and publishes
// image.matched for each image whose findings changed once its part is
// committed. The events are stored with the findings, so that a retry
// after a failure sends those of the parts already committed. It returns
// when every event is acknowledged. It has the [bus.Handler] signature.
func (s *Stage) HandleNotice(ctx context.Context, m *bus.Message) error {
	var ev crawlspacev1.NoticeParsed
	if err := bus.Decode(m.Data, &ev); err != nil {
		return fmt.Errorf("decode %s: %w", m.Subject, err)
	}
	if ev.GetId() == "" {
		return fmt.Errorf("%w: notice.parsed without id", bus.ErrMalformed)
	}

	start := time.Now()
	changed, err := s.rematchNotice(ctx, &ev)
	if err != nil {
		return fmt.Errorf("rematch notice %s: %w", ev.GetId(), err)
	}
	s.log.DebugContext(ctx, "notice rematched", "notice", ev.GetId(), "changed", changed,
		"duration", time.Since(start))
	return nil
}

// result is what one match did.
type result struct {
	open     int
	added    []string
	resolved []string
	tags     []string
	changed  bool
	// The image.matched event of the match is in one of the two: stored
	// in the outbox with the change, or, when nothing changed, not stored.
	stored   *outbox.Batch
	unstored *bus.Envelope
}

// announce publishes the result's image.matched event.
func (r result) announce(ctx context.Context, b *bus.Bus) error {
	if r.unstored != nil {
		return b.PublishAll(ctx, []bus.Envelope{*r.unstored})
	}
	return r.stored.Send(ctx)
}

// event returns the image.matched event for the image with digest d. The
// caller sets Ref and RunId when it knows them.
func (r result) event(d string) *crawlspacev1.ImageMatched {
	return &crawlspacev1.ImageMatched{
		Digest:   d,
		Findings: int32(r.open),
		Added:    r.added,
		Resolved: r.resolved,
		Tags:     r.tags,
	}
}
