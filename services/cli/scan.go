package cli

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/timestamppb"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/config"
	"crawlspace.dev/services/report"
)

// runScan publishes the named images and waits until each is matched and
// checked, or has failed, then prints the results. Without --nats-url it
// runs the crawler, matcher and compliance stages in this process for the
// duration of the command.
func runScan(ctx context.Context, env Env) error {
	var format string
	var timeout time.Duration
	var so stageOptions
	cfg, args, err := parse(env, "scan", func(fs *flag.FlagSet) {
		so.registerRules(fs, env.Getenv)
		so.crawl.registerStage(fs, env.Getenv)
		fs.StringVar(&format, "format", "table", "output format: table, json or sarif")
		fs.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for every result")
		// A one-off scan should report an unreachable image in seconds, not
		// after the minute of retries a cluster rides out an outage with.
		if env.Getenv(config.EnvName("max-attempts")) == "" {
			_ = fs.Set("max-attempts", "2")
		}
	})
	if err != nil {
		return err
	}
	if format != "table" && format != "json" && format != "sarif" {
		return fmt.Errorf("%w: format %q: want table, json or sarif", errUsage, format)
	}
	refs := splitRefs(args)
	if len(refs) == 0 {
		return fmt.Errorf("%w: scan needs image references", errUsage)
	}
	log := newLogger(cfg, env.Stderr)
	r, err := open(ctx, cfg, log, "")
	if err != nil {
		return err
	}
	defer r.close()

	g, gctx := errgroup.WithContext(ctx)
	stagesCtx, stopStages := context.WithCancel(gctx)
	if cfg.NATSURL == "" {
		for _, s := range []string{"crawler", "matcher", "compliance"} {
			if err := r.startStage(stagesCtx, g, s, &so); err != nil {
				stopStages()
				return err
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	outcomes, werr := waitScan(wctx, r, refs)
	cancel()
	stopStages()
	if err := g.Wait(); err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	return printScan(ctx, r, env, format, refs, outcomes)
}

// outcome is what the pipeline said of one scanned reference.
type outcome struct {
	digest           string
	matched, checked bool
	failure          string
}

func (o *outcome) done() bool { return o.failure != "" || (o.matched && o.checked) }

// waitScan publishes refs under a new run id and collects, from the
// pipeline's events, how each ended. A reference still pending when ctx
// ends is reported as timed out.
func waitScan(ctx context.Context, r *runtime, refs []string) (map[string]*outcome, error) {
	run := newRunID()
	ch := make(chan *nats.Msg, 256)
	for _, s := range []string{crawlspacev1.SubjectImageMatched, crawlspacev1.SubjectImageChecked,
		crawlspacev1.SubjectFailureRecorded} {
		sub, err := r.nc.ChanSubscribe(r.bus.Subject(s), ch)
		if err != nil {
			return nil, fmt.Errorf("subscribe to %s: %w", s, err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	if err := r.nc.Flush(); err != nil {
		return nil, fmt.Errorf("subscribe to results: %w", err)
	}

	out := make(map[string]*outcome, len(refs))
	for _, ref := range refs {
		out[ref] = &outcome{}
		if err := publishNamed(ctx, r, run, ref); err != nil {
			return nil, err
		}
	}
	for pending := len(refs); pending > 0; {
		select {
		case <-ctx.Done():
			for _, o := range out {
				if !o.done() {
					o.failure = "timed out waiting for results"
				}
			}
			return out, nil
		case m := <-ch:
			if o := apply(r, out, run, m); o != nil && o.done() {
				pending--
			}
		}
	}
	return out, nil
}

// apply records event m in out when it belongs to run, and returns the
// outcome it changed from pending to anything, or nil.
func apply(r *runtime, out map[string]*outcome, run string, m *nats.Msg) *outcome {
	var ref, runID, digest, failure string
	var matched, checked bool
	switch m.Subject {
	case r.bus.Subject(crawlspacev1.SubjectImageMatched):
		var ev crawlspacev1.ImageMatched
		if bus.Decode(m.Data, &ev) != nil {
			return nil
		}
		ref, runID, digest, matched = ev.GetRef(), ev.GetRunId(), ev.GetDigest(), true
	case r.bus.Subject(crawlspacev1.SubjectImageChecked):
		var ev crawlspacev1.ImageChecked
		if bus.Decode(m.Data, &ev) != nil {
			return nil
		}
		ref, runID, digest, checked = ev.GetRef(), ev.GetRunId(), ev.GetDigest(), true
	default:
		var ev crawlspacev1.FailureRecorded
		if bus.Decode(m.Data, &ev) != nil {
			return nil
		}
		ref, runID = ev.GetRef(), ev.GetRunId()
		failure = fmt.Sprintf("%s: %s", ev.GetStage(), ev.GetReason())
	}
	o, ok := out[ref]
	if !ok || runID != run || o.done() {
		return nil
	}
	if digest != "" {
		o.digest = digest
	}
	o.matched = o.matched || matched
	o.checked = o.checked || checked
	o.failure = failure
	return o
}

// printScan loads each reference's results and prints them. It returns an
// error when any scan failed, after printing everything.
func printScan(ctx context.Context, r *runtime, env Env, format string, refs []string,
	outcomes map[string]*outcome) error {
	var s report.Scan
	failed := 0
	for _, ref := range refs {
		o := outcomes[ref]
		img := report.Image{Ref: ref, Error: o.failure}
		if o.failure == "" {
			var err error
			if img, err = report.Load(ctx, r.pool, ref, o.digest); err != nil {
				img.Error = err.Error()
			}
		}
		if img.Error != "" {
			failed++
		}
		s.Images = append(s.Images, img)
	}
	write := report.WriteTable
	switch format {
	case "json":
		write = report.WriteJSON
	case "sarif":
		write = report.WriteSARIF
	}
	if err := write(env.Stdout, s); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d scans failed", failed, len(refs))
	}
	return nil
}

// publishNamed asks the crawler for ref on behalf of run.
func publishNamed(ctx context.Context, r *runtime, run, ref string) error {
	ev := &crawlspacev1.ImageNamed{Ref: ref, RunId: run, NamedAt: timestamppb.Now()}
	return r.bus.Publish(ctx, crawlspacev1.SubjectImageNamed, "named:"+run+":"+ref, ev)
}

// newRunID returns a random id for one scan or collection run.
func newRunID() string { return strings.ToLower(rand.Text()) }
