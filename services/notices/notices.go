// Package notices is the pipeline's security notice stage. It fetches
// distributions' advisory feeds, parses them into [advisory.Notice] values
// (one package per feed: [debian], [ubuntu], [rhel], [alpine], [osv]),
// stores the notices that are new or whose content changed in PostgreSQL,
// and publishes a notice.parsed event for each of those, so that the
// matcher re-checks the images they concern. Syncing an unchanged feed
// writes and publishes nothing.
package notices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"crawlspace.dev/services/platform/outbox"
	"crawlspace.dev/services/platform/redact"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/fetch"
)

// DefaultDSAList is the security tracker's DSA list, which [Stage.Run]
// syncs when [Options.Sources] is nil.
const DefaultDSAList = "https://salsa.debian.org/security-tracker-team/security-tracker/" +
	"-/raw/master/data/DSA/list"

// DefaultInterval is the time between syncs when [Options.Interval] is zero.
const DefaultInterval = 6 * time.Hour

// defaultBatch is how many notices go into one transaction.
const defaultBatch = 500

// ErrUnknownSource is wrapped by [Stage.Sync] when it does not know the
// source it is asked for.
var ErrUnknownSource = errors.New("unknown notice source")

// Source names one feed for [Stage.Run] to sync.
type Source struct {
	// Source is the feed's name, one of [Sources] ("dsa" and "dla" are
	// accepted for "debian-dsa" and "debian-dla").
	Source string
	// Location is a file, a directory, or an http(s) URL. Empty means the
	// source's default locations.
	Location string
	// Interval is the time between this source's syncs. Zero means
	// [Options.Interval].
	Interval time.Duration
}

// ParseSource reads "SOURCE=LOCATION", "SOURCE=" (the defaults) or a bare
// LOCATION, which means a DSA-format list, as configuration gives them.
func ParseSource(spec string) (Source, error) {
	name, loc, ok := strings.Cut(spec, "=")
	if !ok || strings.Contains(name, "/") || strings.Contains(name, ":") {
		return Source{Source: "debian-dsa", Location: spec}, nil
	}
	if _, _, err := lookup(name); err != nil {
		return Source{}, err
	}
	return Source{Source: name, Location: loc}, nil
}

// Options configures a [Stage]. The zero value syncs the DSA list every
// six hours.
type Options struct {
	// Logger receives one info line per sync and a warning per skipped
	// record or failed sync. Nil means slog.Default().
	Logger *slog.Logger
	// Sources are the feeds [Stage.Run] syncs, each on its own schedule.
	// Nil means the tracker's DSA list, [DefaultDSAList]; an empty non-nil
	// list syncs nothing.
	Sources []Source
	// Interval is the time between the starts of two syncs of a source;
	// up to a tenth more is added at random. Zero means [DefaultInterval].
	Interval time.Duration
	// HTTPClient fetches http(s) locations. Nil means a client with
	// connection, header and overall timeouts.
	HTTPClient *http.Client
	// BatchSize is how many notices are written per transaction and
	// published together. Zero means 500.
	BatchSize int
	// Attempts is how many times a request is tried after network errors,
	// 429 and 5xx, and how many times a body cut short is fetched again.
	// Zero means 4.
	Attempts int
	// Backoff is the wait before the first retry, doubled for each next
	// one, with up to half again added at random by the HTTP client. Zero
	// means a second.
	Backoff time.Duration
	// MaxWait caps one wait between attempts, Retry-After included. Zero
	// means five minutes.
	MaxWait time.Duration
	// PerHost is the most requests per second sent to one host. Zero
	// means 2.
	PerHost float64
	// MaxBody is the largest document read, in bytes. Zero means 1 GiB.
	MaxBody int64
}

// Stage syncs notice feeds into PostgreSQL and announces what changed. It
// is safe for concurrent use; concurrent syncs of one feed store the same
// rows, though both may count and publish a change.
type Stage struct {
	pool  *pgxpool.Pool
	bus   *bus.Bus
	opts  Options
	log   *slog.Logger
	fetch *fetcher
	out   *outbox.Outbox
}

// New returns a Stage that writes through pool and publishes on b.
func New(pool *pgxpool.Pool, b *bus.Bus, opts Options) *Stage {
	opts = withDefaults(opts)
	f := &fetcher{maxBody: opts.MaxBody,
		client: fetch.New(fetch.Options{HTTP: opts.HTTPClient, Rate: opts.PerHost,
			MaxAttempts: opts.Attempts, Backoff: opts.Backoff, MaxDelay: opts.MaxWait,
			UserAgent: "crawlspace-notices"})}
	return &Stage{pool: pool, bus: b, opts: opts, log: opts.Logger, fetch: f,
		out: outbox.New(pool, b, opts.Logger)}
}

func withDefaults(o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = o.Logger.With("component", "notices")
	if o.Sources == nil {
		o.Sources = []Source{{Source: "debian-dsa", Location: DefaultDSAList}}
	}
	o.Interval = cmpOr(o.Interval, DefaultInterval)
	if o.HTTPClient == nil {
		o.HTTPClient = defaultClient()
	}
	o.BatchSize = cmpOr(o.BatchSize, defaultBatch)
	o.Attempts = cmpOr(o.Attempts, 4)
	o.Backoff = cmpOr(o.Backoff, time.Second)
	o.MaxWait = cmpOr(o.MaxWait, 5*time.Minute)
	o.PerHost = cmpOr(o.PerHost, 2)
	o.MaxBody = cmpOr(o.MaxBody, 1<<30)
	return o
}

// cmpOr returns v, or def when v is zero or negative.
func cmpOr[T int | int64 | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Result counts what one [Stage.Sync] did.
type Result struct {
	// Parsed is the number of well-formed notices read.
	Parsed int
	// New, Changed and Unchanged split Parsed: notices not stored before,
	// stored with other content (both written and published), and stored
	// with the same content (neither).
	New, Changed, Unchanged int
	// Malformed is the number of records (or whole documents of a
	// directory or archive) skipped as malformed.
	Malformed int
	// Undetermined is the number of affected entries whose status the
	// feed gave in a form the parser does not know.
	Undetermined int
	// Skipped is the number of affected entries left out on purpose.
	Skipped int
	// NotModified is the number of documents the server said, or their
	// hash showed, were unchanged since the last sync; they are not parsed.
	NotModified int
	// Duration is how long the sync took.
	Duration time.Duration
}

// String summarizes r on one line.
func (r Result) String() string {
	return fmt.Sprintf("%d parsed, %d new, %d changed, %d unchanged, %d malformed, "+
		"%d not modified in %s", r.Parsed, r.New, r.Changed, r.Unchanged, r.Malformed,
		r.NotModified, r.Duration.Round(time.Millisecond))
}

// Load is [Stage.Sync] under its former name.
func (s *Stage) Load(ctx context.Context, source, location string) (Result, error) {
	return s.Sync(ctx, source, location)
}

// Sync reads source's feed at location (a file, a directory whose files of
// the source's format are all read, or a URL; "" for the source's default
// URLs), stores each notice that is new or changed, and publishes
// notice.parsed for exactly those. Malformed records are logged and
// skipped. Notices are committed and published in batches: on error, the
// batches before it are stored and announced, and a later sync picks up
// the rest. A URL's cursor is stored only once all of it is.
func (s *Stage) Sync(ctx context.Context, source, location string) (Result, error) {
	start := time.Now()
	name, f, err := lookup(source)
	if err != nil {
		return Result{}, fmt.Errorf("sync %s: %w", redact.URL(location), err)
	}
	locations := []string{location}
	if location == "" {
		locations = f.defaults
	}
	w := &writer{s: s, res: &Result{}, source: "sync:" + name}
	if _, err := s.out.Resend(ctx, w.source); err != nil {
		return Result{}, fmt.Errorf("sync %s: announce earlier sync: %w", name, err)
	}
	for _, loc := range locations {
		if err := s.syncLocation(ctx, name, f, loc, w); err != nil {
			w.res.Duration = time.Since(start)
			return *w.res, fmt.Errorf("sync %s %s: %w", name, redact.URL(loc), err)
		}
	}
	res := *w.res
	res.Duration = time.Since(start)
	s.log.InfoContext(ctx, "notices synced", "source", name, "location", redact.URL(location),
		"parsed", res.Parsed, "new", res.New, "changed", res.Changed,
		"unchanged", res.Unchanged, "malformed", res.Malformed,
		"undetermined", res.Undetermined, "not_modified", res.NotModified,
		"duration", res.Duration)
	return res, nil
}

// writer batches notices across the documents of one sync.
type writer struct {
	s       *Stage
	res     *Result
	source  string // the outbox source of the sync's events
	pending []advisory.Notice
	index   map[string]int
}

// add queues the notices of one document and writes full batches.
func (w *writer) add(ctx context.Context, feed advisory.Feed) error {
	for _, re := range feed.Malformed {
		w.s.log.WarnContext(ctx, "malformed notice skipped", "advisory", re.ID, "err", re)
	}
	w.res.Malformed += len(feed.Malformed)
	w.res.Undetermined += feed.Undetermined
	w.res.Skipped += feed.Skipped
	if w.index == nil {
		w.index = map[string]int{}
	}
	for _, n := range feed.Notices {
		// A notice read twice in one batch keeps its last reading.
		if i, ok := w.index[n.ID]; ok {
			w.pending[i] = n
			w.res.Parsed++
			w.res.Unchanged++
			continue
		}
		w.index[n.ID] = len(w.pending)
		w.pending = append(w.pending, n)
		if len(w.pending) >= w.s.opts.BatchSize {
			if err := w.flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes what is queued.
func (w *writer) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	err := w.s.flush(ctx, w.source, w.pending, w.res)
	w.pending, w.index = w.pending[:0], map[string]int{}
	return err
}

// flush stores one batch, with the notice.parsed events of the notices it
// changed, and publishes those. Events that could not be published stay
// stored, and the next sync of the source sends them.
func (s *Stage) flush(ctx context.Context, source string, batch []advisory.Notice,
	res *Result) error {
	changes, events, err := writeBatch(ctx, s.pool, batch,
		func(tx pgx.Tx, changes []change) (*outbox.Batch, error) {
			return s.out.Put(ctx, tx, source, envelopes(changes))
		})
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
	return events.Send(ctx)
}

// envelopes returns the notice.parsed events of changes.
func envelopes(changes []change) []bus.Envelope {
	envs := make([]bus.Envelope, 0, len(changes))
	for _, c := range changes {
		envs = append(envs, bus.Envelope{
			Subject: crawlspacev1.SubjectNoticeParsed,
			MsgID:   "notice:" + c.notice.ID + ":" + c.hash,
			Message: event(c),
		})
	}
	return envs
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

// Run syncs every configured source at start and then once per its
// interval, with up to a tenth of it added at random so that replicas
// drift apart; each source runs on its own schedule. A sync that fails is
// logged as a warning and the others go on. Run returns nil when ctx is
// cancelled.
func (s *Stage) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, src := range s.opts.Sources {
		wg.Go(func() { s.schedule(ctx, src) })
	}
	wg.Wait()
	return nil
}

// schedule syncs one source until ctx is done.
func (s *Stage) schedule(ctx context.Context, src Source) {
	interval := cmpOr(src.Interval, s.opts.Interval)
	for {
		if _, err := s.Sync(ctx, src.Source, src.Location); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "notice sync failed", "source", src.Source,
				"location", redact.URL(src.Location), "err", err)
		}
		if err := fetch.Sleep(ctx, interval+rand.N(interval/10+1)); err != nil {
			return
		}
	}
}
