package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/compliance"
	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/matcher"
	"crawlspace.dev/services/notices"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/config"
	"crawlspace.dev/services/platform/outbox"
	"crawlspace.dev/services/platform/store"
	"crawlspace.dev/services/platform/telemetry"
)

// runtime is what a running subcommand holds open: the database pool, the
// NATS connection (and the embedded server, when there is one), and the
// metrics.
type runtime struct {
	cfg     *config.Config
	log     *slog.Logger
	pool    *pgxpool.Pool
	srv     *server.Server
	nc      *nats.Conn
	bus     *bus.Bus
	metrics *telemetry.Metrics
}

// newLogger builds the process's one handler: text on a terminal, JSON
// elsewhere, unless the config says which.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// newMetrics returns the process's series: the stages', and what waits in
// the outbox of the database behind pool.
func newMetrics(pool *pgxpool.Pool) *telemetry.Metrics {
	m := telemetry.New()
	m.Registry.MustRegister(outbox.Collector(pool))
	return m
}

// openPool connects to the database the config names.
func openPool(ctx context.Context, cfg *config.Config) (*pgxpool.Pool, error) {
	if cfg.PGURL == "" {
		return nil, errors.New("no database: set --pg-url or CRAWLSPACE_PG_URL")
	}
	return store.Open(ctx, cfg.PGURL)
}

// open connects to PostgreSQL (migrating when asked) and to NATS: the
// server at cfg.NATSURL, or else an embedded one storing its streams in
// cfg.DataDir and listening on listen ("" for in-process only).
func open(ctx context.Context, cfg *config.Config, log *slog.Logger,
	listen string) (*runtime, error) {
	r := &runtime{cfg: cfg, log: log}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r.pool, r.metrics = pool, newMetrics(pool)
	if cfg.Migrate {
		if err := store.Migrate(ctx, pool); err != nil {
			r.close()
			return nil, err
		}
	}
	if err := r.connect(listen); err != nil {
		r.close()
		return nil, err
	}
	if r.bus, err = bus.New(r.nc, bus.Options{}); err != nil {
		r.close()
		return nil, err
	}
	if err := r.bus.Declare(ctx); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *runtime) connect(listen string) error {
	if r.cfg.NATSURL != "" {
		nc, err := bus.Connect(r.cfg.NATSURL)
		r.nc = nc
		return err
	}
	dir := filepath.Join(r.cfg.DataDir, "nats")
	srv, err := bus.Embedded(dir, listen)
	if err != nil {
		return err
	}
	r.srv = srv
	r.log.Info("embedded nats started", "dir", dir, "listen", listen)
	r.nc, err = bus.ConnectEmbedded(srv)
	return err
}

func (r *runtime) close() {
	if r.nc != nil {
		// Drain returns at once; let it finish before the embedded server
		// goes away under it, but never wait long.
		if r.nc.Drain() == nil {
			for deadline := time.Now().Add(5 * time.Second); !r.nc.IsClosed() &&
				time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
		}
		r.nc.Close()
	}
	if r.srv != nil {
		r.srv.Shutdown()
		r.srv.WaitForShutdown()
	}
	if r.pool != nil {
		r.pool.Close()
	}
}

// consume runs one durable consumer for a stage until ctx is done.
func (r *runtime) consume(ctx context.Context, stage, durable, subject string,
	h bus.Handler) error {
	return r.bus.Consume(ctx, bus.ConsumerConfig{
		Durable:     durable,
		Subject:     subject,
		Workers:     r.cfg.Workers,
		MaxAttempts: r.cfg.MaxAttempts,
		Backoff:     r.cfg.Backoff(),
		Metrics:     r.metrics.Stage(stage),
		Failures:    store.Failures{Pool: r.pool},
		Logger:      r.log.With("component", stage),
	}, h)
}

// stageOptions holds the flags of the stages that have their own.
type stageOptions struct {
	noticesSources  []string
	rulesDirs       []string
	noticesInterval string
	collect         collectStage
	crawl           crawlFlags
}

// startStage starts the named stage's consumers on g, for callers that
// serve no stage API.
func (r *runtime) startStage(ctx context.Context, g *errgroup.Group, name string,
	so *stageOptions) error {
	_, err := r.startStageAPI(ctx, g, name, so)
	return err
}

// startStageAPI starts the named stage's consumers on g. It returns the
// stage's HTTP API when it has one (the collector), for the HTTP server.
func (r *runtime) startStageAPI(ctx context.Context, g *errgroup.Group, name string,
	so *stageOptions) (http.Handler, error) {
	switch name {
	case "collector":
		return so.collect.start(ctx, g, r)
	case "crawler":
		if err := so.crawl.validate(); err != nil {
			return nil, err
		}
		opts := so.crawl.stageOptions()
		opts.Logger, opts.InsecureRegistries = r.log, r.cfg.InsecureRegistries
		st := crawler.New(r.pool, r.bus, opts)
		g.Go(func() error {
			return r.consume(ctx, name, crawler.Consumer, crawlspacev1.SubjectImageNamed,
				st.HandleNamed)
		})
	case "matcher":
		st := matcher.New(r.pool, r.bus, matcher.Options{Logger: r.log})
		g.Go(func() error {
			return r.consume(ctx, name, matcher.ConsumerImages, crawlspacev1.SubjectImageCrawled,
				st.HandleCrawled)
		})
		g.Go(func() error {
			return r.consume(ctx, name, matcher.ConsumerNotices, crawlspacev1.SubjectNoticeParsed,
				st.HandleNotice)
		})
		g.Go(func() error { return st.Run(ctx) })
	case "compliance":
		st, err := compliance.New(r.pool, r.bus, compliance.Options{
			Logger: r.log, RulesDirs: so.rulesDirs,
		})
		if err != nil {
			return nil, err
		}
		g.Go(func() error {
			return r.consume(ctx, name, compliance.Consumer, crawlspacev1.SubjectImageCrawled,
				st.HandleCrawled)
		})
	case "notices":
		opts, err := so.notices(r.log)
		if err != nil {
			return nil, err
		}
		st := notices.New(r.pool, r.bus, opts)
		g.Go(func() error { return st.Run(ctx) })
	default:
		return nil, fmt.Errorf("unknown stage %q", name)
	}
	return nil, nil
}

// serveHTTP serves metrics and health, and api when it is not nil, on
// cfg.HTTPAddr under g.
func (r *runtime) serveHTTP(ctx context.Context, g *errgroup.Group, api http.Handler) error {
	ln, err := net.Listen("tcp", r.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", r.cfg.HTTPAddr, err)
	}
	r.log.Info("serving metrics and health", "addr", ln.Addr().String())
	g.Go(func() error {
		return telemetry.Serve(ctx, ln, r.metrics, api, r.pool.Ping, func(context.Context) error {
			if !r.nc.IsConnected() {
				return errors.New("nats disconnected")
			}
			return nil
		})
	})
	return nil
}
