// Package compliance is the pipeline's compliance rule checker. For each
// crawled image it evaluates best-practice rules on the features the
// crawler stored (packages, files, captured configuration files and the
// image config), keeps one result per rule with its evidence, and
// announces the counts on image.checked.
package compliance

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

// Consumer is the durable consumer name [Stage.HandleCrawled] is meant to
// run under, on image.crawled.
const Consumer = "compliance"

// Options configures a [Stage]. The zero value is usable.
type Options struct {
	// Logger receives the stage's logs. Nil means slog.Default().
	Logger *slog.Logger
	// RulesDirs name directories of users' own rules files (*.yaml), read
	// after the built-in rules; see [LoadRules]. Empty means built-ins only.
	RulesDirs []string
}

// Stage checks images against a [RuleSet]. It is safe for concurrent use.
type Stage struct {
	pool  *pgxpool.Pool
	bus   *bus.Bus
	log   *slog.Logger
	rules *RuleSet
}

// New returns a Stage that reads and writes through pool and publishes
// image.checked on b, checking the built-in rules and those in
// opts.RulesDirs. A rule that does not compile is an error.
func New(pool *pgxpool.Pool, b *bus.Bus, opts Options) (*Stage, error) {
	rules, err := LoadRules(opts.RulesDirs...)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "compliance")
	log.Info("rules loaded", "count", len(rules.rules), "dirs", len(opts.RulesDirs))
	return &Stage{pool: pool, bus: b, log: log, rules: rules}, nil
}

// HandleCrawled checks the image an image.crawled event names, stores its
// rule results and publishes image.checked. It has the [bus.Handler]
// signature.
func (s *Stage) HandleCrawled(ctx context.Context, m *bus.Message) error {
	var ev crawlspacev1.ImageCrawled
	if err := bus.Decode(m.Data, &ev); err != nil {
		return fmt.Errorf("decode %s: %w", m.Subject, err)
	}
	d := ev.GetDigest()
	if d == "" {
		return fmt.Errorf("%w: image.crawled without digest", bus.ErrMalformed)
	}

	start := time.Now()
	f, err := loadFeatures(ctx, s.pool, d)
	if errors.Is(err, errImageNotFound) {
		return bus.Permanent(fmt.Errorf("check %s: %w", d, err))
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", d, err)
	}
	view, err := NewView(f)
	if err != nil {
		return bus.Permanent(fmt.Errorf("check %s: %w", d, err))
	}
	results := s.rules.Evaluate(view)
	changed, err := writeResults(ctx, s.pool, d, results)
	if err != nil {
		return fmt.Errorf("check %s: %w", d, err)
	}

	out := counts(results)
	out.Ref, out.Digest, out.RunId = ev.GetRef(), d, ev.GetRunId()
	s.log.InfoContext(ctx, "image checked", "digest", d, "passed", out.Passed,
		"failed", out.Failed, "not_applicable", out.NotApplicable, "errors", errored(results),
		"changed", changed,
		"duration", time.Since(start))
	id := "checked:" + d + ":" + ev.GetRunId() + ":" + ev.GetRef()
	if err := s.bus.Publish(ctx, crawlspacev1.SubjectImageChecked, id, out); err != nil {
		return fmt.Errorf("announce check of %s: %w", d, err)
	}
	return nil
}

// counts tallies results into an image.checked event.
func counts(results []Result) *crawlspacev1.ImageChecked {
	ev := &crawlspacev1.ImageChecked{}
	for _, r := range results {
		switch r.Status {
		case StatusPass:
			ev.Passed++
		case StatusFail:
			ev.Failed++
		case StatusNotApplicable:
			ev.NotApplicable++
		}
	}
	return ev
}

// errored counts the results in error, which image.checked does not carry.
func errored(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Status == StatusError {
			n++
		}
	}
	return n
}
