package crawler

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

// Consumer is the durable consumer name [Stage.HandleNamed] is meant to run
// under, on image.named.
const Consumer = "crawler"

// Options configures a [Stage].
type Options struct {
	// Logger receives the stage's events. Nil means slog.Default().
	Logger *slog.Logger
	// InsecureRegistries lists registries (host:port) reached over plain
	// HTTP; see [CrawlOptions].
	InsecureRegistries []string
	// Limits bound each crawl; see [CrawlOptions].
	Limits Limits
	// ConfigPaths replaces [ConfigFilePaths] when set.
	ConfigPaths []string
	// Platform chooses from manifest lists; [PlatformAll] crawls and
	// publishes every platform image. See [CrawlOptions].
	Platform string
	// AuthFiles are the registry auth files; see [CrawlOptions].
	AuthFiles []string
}

// Stage consumes image.named: it crawls each image, stores what it found
// and publishes image.crawled. It is safe for concurrent use.
type Stage struct {
	pool *pgxpool.Pool
	bus  *bus.Bus
	opts Options
	log  *slog.Logger
}

// New returns a Stage that stores into pool and publishes on b.
func New(pool *pgxpool.Pool, b *bus.Bus, opts Options) *Stage {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Stage{pool: pool, bus: b, opts: opts, log: log.With("component", "crawler")}
}

// HandleNamed handles one image.named message. It is idempotent: handling
// a message twice leaves the database as handling it once (with NamedAt
// set; without it the tag observation's last_seen moves to the later
// time). A payload that does not decode or names no ref wraps
// [bus.ErrMalformed]; a crawl failure retrying cannot mend wraps
// [bus.ErrPermanent].
func (s *Stage) HandleNamed(ctx context.Context, m *bus.Message) error {
	var named crawlspacev1.ImageNamed
	if err := bus.Decode(m.Data, &named); err != nil {
		return err
	}
	if named.GetRef() == "" {
		return fmt.Errorf("%w: image.named without ref", bus.ErrMalformed)
	}

	start := time.Now()
	imgs, err := CrawlAll(ctx, named.GetRef(), CrawlOptions{
		InsecureRegistries: s.opts.InsecureRegistries,
		Known:              s.known,
		Cache:              PGCache{Pool: s.pool},
		Limits:             s.opts.Limits,
		ConfigPaths:        s.opts.ConfigPaths,
		Platform:           s.opts.Platform,
		AuthFiles:          s.opts.AuthFiles,
	})
	if err != nil {
		if IsPermanent(err) {
			return bus.Permanent(err)
		}
		return err
	}
	for _, img := range imgs {
		if err := s.publish(ctx, img, &named, start); err != nil {
			return err
		}
	}
	return nil
}

// publish stores one crawled image and publishes its image.crawled.
func (s *Stage) publish(ctx context.Context, img *Image, named *crawlspacev1.ImageNamed,
	start time.Time) error {
	ev, err := s.store(ctx, img, named)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("crawled:%s:%s:%s", img.Digest, named.GetRunId(), named.GetRef())
	if err := s.bus.Publish(ctx, crawlspacev1.SubjectImageCrawled, id, ev); err != nil {
		return err
	}
	s.log.DebugContext(ctx, "image crawled", "ref", img.Ref, "digest", img.Digest,
		"extracted", img.Extracted, "packages", ev.GetPackageCount(), "files", len(img.Files),
		"cached_layers", cachedLayers(img), "duration", time.Since(start))
	return nil
}

// errVanished reports an image that was stored when the crawl began and is
// gone when its results are stored; a retry crawls it in full.
var errVanished = errors.New("image vanished from the database during the crawl")

// cachedLayers counts the layers whose features came from the cache.
func cachedLayers(img *Image) int {
	n := 0
	for _, l := range img.Layers {
		if l.Cached {
			n++
		}
	}
	return n
}
