// Package notices is the pipeline's security notice stage. It fetches
// distributions' advisory feeds, parses them into [advisory.Notice] values
// (one package per feed format, such as [debian]), stores the notices that
// are new or whose content changed in PostgreSQL, and publishes a
// notice.parsed event for each of those, so that the matcher re-checks the
// images they concern. Loading the same feed twice writes and publishes
// nothing the second time.
package notices

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/debian"
	"crawlspace.dev/services/platform/bus"
)

// DefaultDSAList is the security tracker's DSA list, which [Stage.Run]
// loads when [Options.Sources] is nil.
const DefaultDSAList = "https://salsa.debian.org/security-tracker-team/security-tracker/" +
	"-/raw/master/data/DSA/list"

// DefaultInterval is the time between loads when [Options.Interval] is zero.
const DefaultInterval = 6 * time.Hour

// defaultBatch is how many notices go into one transaction.
const defaultBatch = 500

// ErrUnknownSource is wrapped by [Stage.Load] when it does not know the
// feed format it is asked for.
var ErrUnknownSource = errors.New("unknown notice source")

// Source names one feed for [Stage.Run] to load.
type Source struct {
	// Source is the feed format: "dsa" for the Debian security tracker's
	// DSA or DLA list format ("dla" is accepted as the same format).
	Source string
	// Location is a file path or an http(s) URL.
	Location string
}

// Options configures a [Stage]. The zero value loads the DSA list every six
// hours.
type Options struct {
	// Logger receives one info line per load and a warning per skipped
	// record or failed load. Nil means slog.Default().
	Logger *slog.Logger
	// Sources are the feeds [Stage.Run] loads, in order. Nil means the
	// tracker's DSA list, [DefaultDSAList]; an empty non-nil list loads
	// nothing.
	Sources []Source
	// Interval is the time between the starts of two rounds of loads; up
	// to a tenth more is added at random. Zero means [DefaultInterval].
	Interval time.Duration
	// HTTPClient fetches http(s) locations. Nil means a client with
	// connection, header and overall timeouts.
	HTTPClient *http.Client
	// BatchSize is how many notices are written per transaction and
	// published together. Zero means 500.
	BatchSize int
}

// Stage loads notice feeds into PostgreSQL and announces what changed. It
// is safe for concurrent use; concurrent loads of one feed store the same
// rows, though both may count and publish a change.
type Stage struct {
	pool *pgxpool.Pool
	bus  *bus.Bus
	opts Options
	log  *slog.Logger
}

// New returns a Stage that writes through pool and publishes on b.
func New(pool *pgxpool.Pool, b *bus.Bus, opts Options) *Stage {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Logger = opts.Logger.With("component", "notices")
	if opts.Sources == nil {
		opts.Sources = []Source{{Source: "dsa", Location: DefaultDSAList}}
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = defaultClient()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = defaultBatch
	}
	return &Stage{pool: pool, bus: b, opts: opts, log: opts.Logger}
}

// Result counts what one [Stage.Load] did.
type Result struct {
	// Parsed is the number of well-formed notices read.
	Parsed int
	// New, Changed and Unchanged split Parsed: notices not stored before,
	// stored with other content (both written and published), and stored
	// with the same content (neither).
	New, Changed, Unchanged int
	// Malformed is the number of records skipped as malformed.
	Malformed int
	// Undetermined is the number of affected entries whose status the
	// feed gave in a form the parser does not know.
	Undetermined int
	// Duration is how long the load took.
	Duration time.Duration
}

// String summarizes r on one line.
func (r Result) String() string {
	return fmt.Sprintf("%d parsed, %d new, %d changed, %d unchanged, %d malformed in %s",
		r.Parsed, r.New, r.Changed, r.Unchanged, r.Malformed, r.Duration.Round(time.Millisecond))
}

// Load reads the feed at location in the given format (see [Source]),
// stores each notice that is new or changed, and publishes notice.parsed
// for exactly those. Malformed records are logged and skipped. Notices are
// committed and published in batches: on error, the batches before it are
// stored and announced, and a later load picks up the rest.
func (s *Stage) Load(ctx context.Context, source, location string) (Result, error) {
	start := time.Now()
	if source != "dsa" && source != "dla" {
		return Result{}, fmt.Errorf("load %s: %w %q: want dsa", redact(location),
			ErrUnknownSource, source)
	}
	body, name, err := open(ctx, s.opts.HTTPClient, location)
	if err != nil {
		return Result{}, err
	}
	defer body.Close()

	var res Result
	err = s.load(ctx, debian.NewReader(body, name), &res)
	res.Duration = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", name, err)
	}
	s.log.InfoContext(ctx, "notices loaded", "source", source, "location", name,
		"parsed", res.Parsed, "new", res.New, "changed", res.Changed,
		"unchanged", res.Unchanged, "malformed", res.Malformed,
		"undetermined", res.Undetermined, "duration", res.Duration)
	return res, nil
}

// load streams notices from r in batches through store and publish.
func (s *Stage) load(ctx context.Context, r *debian.Reader, res *Result) error {
	batch := make([]advisory.Notice, 0, s.opts.BatchSize)
	for {
		n, err := r.Next()
		var re *debian.RecordError
		switch {
		case err == nil:
			batch = append(batch, n)
		case errors.As(err, &re):
			s.log.WarnContext(ctx, "malformed notice skipped", "advisory", re.ID, "err", re)
		case errors.Is(err, io.EOF):
		default:
			return err
		}
		if len(batch) == cap(batch) || (errors.Is(err, io.EOF) && len(batch) > 0) {
			if err := s.flush(ctx, batch, res); err != nil {
				return err
			}
			batch = batch[:0]
		}
		if errors.Is(err, io.EOF) {
			stats := r.Stats()
			res.Malformed, res.Undetermined = stats.Malformed, stats.Undetermined
			return nil
		}
	}
}

// flush stores one batch and publishes the notices it changed.
func (s *Stage) flush(ctx context.Context, batch []advisory.Notice, res *Result) error {
	changes, err := writeBatch(ctx, s.pool, batch)
	if err != nil {
		return err
	}
	res.Parsed += len(batch)
	res.Unchanged += len(batch) - len(changes)
	for _, c := range changes {
		if c.created {
			res.New++
		} else {
			res.Changed++
		}
	}
	if err := s.publish(ctx, changes); err != nil {
		s.forgetBatch(ctx, changes)
		return err
	}
	return nil
}

// publish sends notice.parsed for each change, all at once.
func (s *Stage) publish(ctx context.Context, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	envs := make([]bus.Envelope, 0, len(changes))
	for _, c := range changes {
		envs = append(envs, bus.Envelope{
			Subject: crawlspacev1.SubjectNoticeParsed,
			MsgID:   "notice:" + c.notice.ID + ":" + c.hash,
			Message: event(c),
		})
	}
	return s.bus.PublishAll(ctx, envs)
}

func event(c change) *crawlspacev1.NoticeParsed {
	ev := &crawlspacev1.NoticeParsed{
		Id:          c.notice.ID,
		Source:      c.notice.Source,
		ContentHash: c.hash,
	}
	for _, a := range c.notice.Affected {
		ev.Affected = append(ev.Affected, &crawlspacev1.Affected{
			Release: a.Release,
			Package: a.Package,
		})
	}
	return ev
}

// forgetBatch clears the stored hashes of notices whose events could not
// be published, so that the next load sees them as changed and publishes
// again. It runs even when ctx is cancelled, since that may be why
// publishing failed.
func (s *Stage) forgetBatch(ctx context.Context, changes []change) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := forgetHashes(ctx, s.pool, changes); err != nil {
		// TODO(crawlspace): keep unpublished events in an outbox table so
		// that a publish failure after commit cannot lose them when this
		// write fails too; today they are lost until the notice changes.
		s.log.ErrorContext(ctx, "notice events lost", "count", len(changes), "err", err)
	}
}

// Run loads every configured source at start and then once per interval,
// with up to a tenth of it added at random so that replicas drift apart.
// A load that fails is logged as a warning and the others go on. Run
// returns nil when ctx is cancelled.
func (s *Stage) Run(ctx context.Context) error {
	for {
		s.loadAll(ctx)
		wait := s.opts.Interval + rand.N(s.opts.Interval/10+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// loadAll loads each source once, in order.
func (s *Stage) loadAll(ctx context.Context) {
	for _, src := range s.opts.Sources {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.Load(ctx, src.Source, src.Location); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "notice load failed", "source", src.Source,
				"location", redact(src.Location), "err", err)
		}
	}
}
