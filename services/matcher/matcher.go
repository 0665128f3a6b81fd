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
	log  *slog.Logger
}

// New returns a Stage that reads and writes through pool and publishes
// image.matched on b.
func New(pool *pgxpool.Pool, b *bus.Bus, opts Options) *Stage {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Stage{pool: pool, bus: b, log: log.With("component", "matcher")}
}

// HandleCrawled matches the image an image.crawled event names and
// publishes image.matched, whether or not its findings changed. It has the
// [bus.Handler] signature.
func (s *Stage) HandleCrawled(ctx context.Context, m *bus.Message) error {
	var ev crawlspacev1.ImageCrawled
	if err := bus.Decode(m.Data, &ev); err != nil {
		return fmt.Errorf("decode %s: %w", m.Subject, err)
	}
	if ev.GetDigest() == "" {
		return fmt.Errorf("%w: image.crawled without digest", bus.ErrMalformed)
	}

	start := time.Now()
	res, err := s.matchImage(ctx, ev.GetDigest())
	if errors.Is(err, errImageNotFound) {
		return bus.Permanent(fmt.Errorf("match %s: %w", ev.GetDigest(), err))
	}
	if err != nil {
		return fmt.Errorf("match %s: %w", ev.GetDigest(), err)
	}
	s.log.InfoContext(ctx, "image matched", "digest", ev.GetDigest(), "findings", res.open,
		"added", len(res.added), "resolved", len(res.resolved), "duration", time.Since(start))

	out := res.event(ev.GetDigest())
	out.Ref, out.RunId = ev.GetRef(), ev.GetRunId()
	id := "matched:" + ev.GetDigest() + ":" + ev.GetRunId() + ":" + ev.GetRef()
	if err := s.bus.Publish(ctx, crawlspacev1.SubjectImageMatched, id, out); err != nil {
		return fmt.Errorf("announce match of %s: %w", ev.GetDigest(), err)
	}
	return nil
}

// HandleNotice re-matches every stored image that a notice.parsed event
// may concern, a chunk of images to a transaction, and publishes
// image.matched for each image whose findings changed once its chunk is
// committed. It returns when every event is acknowledged. It has the [bus.Handler] signature.
//
// TODO(crawlspace): an event whose publish fails after its findings were
// committed is not sent again on retry, because the retry sees no change;
// this holds for each committed chunk of a rematch that later fails. An
// outbox table would close that gap.
func (s *Stage) HandleNotice(ctx context.Context, m *bus.Message) error {
	var ev crawlspacev1.NoticeParsed
	if err := bus.Decode(m.Data, &ev); err != nil {
		return fmt.Errorf("decode %s: %w", m.Subject, err)
	}
	if ev.GetId() == "" {
		return fmt.Errorf("%w: notice.parsed without id", bus.ErrMalformed)
	}

	start := time.Now()
	images, changed, err := s.rematchNotice(ctx, &ev)
	if err != nil {
		return fmt.Errorf("rematch notice %s: %w", ev.GetId(), err)
	}
	s.log.DebugContext(ctx, "notice rematched", "notice", ev.GetId(), "images", images,
		"changed", changed, "duration", time.Since(start))
	return nil
}
