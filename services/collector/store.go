package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// startRun records a new run, or reads the cursor of the run spec.RunID
// names when it exists.
func (c *Collector) startRun(ctx context.Context, spec Spec) (string, bool, error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return "", false, fmt.Errorf("encode run spec: %w", err)
	}
	var cursor string
	var inserted bool
	err = c.pool.QueryRow(ctx, `
		INSERT INTO collect_runs (run_id, spec, started_at, updated_at)
		VALUES ($1, $2, $3, $3)
		ON CONFLICT (run_id) DO UPDATE SET updated_at = EXCLUDED.updated_at,
			finished_at = NULL, error = ''
		RETURNING cursor, xmax = 0`, spec.RunID, specJSON, c.opts.Now()).Scan(&cursor, &inserted)
	if err != nil {
		return "", false, fmt.Errorf("start run %s: %w", spec.RunID, err)
	}
	return cursor, !inserted, nil
}

// finishRun records the run's end and, when it stopped early, why.
func (c *Collector) finishRun(ctx context.Context, run string, runErr error) error {
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	_, err := c.pool.Exec(ctx, `
		UPDATE collect_runs SET finished_at = $2, updated_at = $2, error = $3
		WHERE run_id = $1`, run, c.opts.Now(), msg)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", run, err)
	}
	return nil
}

// advance moves the run's cursor to key and counts its work.
func (c *Collector) advance(ctx context.Context, run, key string, names int) error {
	_, err := c.pool.Exec(ctx, `
		UPDATE collect_runs SET cursor = $2, repositories = repositories + 1,
			names = names + $3, updated_at = $4
		WHERE run_id = $1`, run, key, names, c.opts.Now())
	if err != nil {
		return fmt.Errorf("move cursor of run %s: %w", run, err)
	}
	return nil
}

// published returns the refs of r that run has already published.
func (c *Collector) published(ctx context.Context, run string, r *Repository) (map[string]bool,
	error) {
	refs := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		refs[i] = r.Ref(t)
	}
	rows, err := c.pool.Query(ctx, `
		SELECT ref FROM collect_named WHERE run_id = $1 AND ref = ANY($2)`, run, refs)
	if err != nil {
		return nil, fmt.Errorf("read names of run %s: %w", run, err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read names of run %s: %w", run, err)
	}
	out := make(map[string]bool, len(done))
	for _, ref := range done {
		out[ref] = true
	}
	return out, nil
}

func (c *Collector) markNamed(ctx context.Context, run, ref string, at time.Time) error {
	_, err := c.pool.Exec(ctx, `
		INSERT INTO collect_named (run_id, ref, named_at) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, run, ref, at)
	if err != nil {
		return fmt.Errorf("record name %s: %w", ref, err)
	}
	return nil
}

// storeRepository upserts r, the tags listed and its popularity, in one
// transaction.
func (c *Collector) storeRepository(ctx context.Context, r *Repository, seen time.Time) error {
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		pop := r.Popularity
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO repositories (registry, name, official, publisher, first_seen,
				collected_at)
			VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (registry, name) DO UPDATE SET
				first_seen = least(repositories.first_seen, EXCLUDED.first_seen),
				collected_at = greatest(repositories.collected_at, EXCLUDED.collected_at),
				official = CASE WHEN $6 THEN EXCLUDED.official ELSE repositories.official END,
				publisher = CASE WHEN $6 THEN EXCLUDED.publisher ELSE repositories.publisher END
			RETURNING id`,
			r.Registry, r.Name, pop.GetOfficial(), pop.GetPublisher(), seen, pop != nil).Scan(&id)
		if err != nil {
			return fmt.Errorf("upsert repository %s/%s: %w", r.Registry, r.Name, err)
		}
		if err := storeTags(ctx, tx, id, r, seen); err != nil {
			return err
		}
		if pop == nil {
			return nil
		}
		var updated *time.Time
		if !r.LastUpdated.IsZero() {
			updated = &r.LastUpdated
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO repository_popularity (repository_id, observed_at, pull_count,
				star_count, bucket, last_updated) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT DO NOTHING`,
			id, pop.GetObservedAt().AsTime(), pop.GetPullCount(), pop.GetStarCount(),
			pop.GetBucket(), updated)
		if err != nil {
			return fmt.Errorf("insert popularity of %s: %w", r.Name, err)
		}
		return nil
	})
}

// storeTags records the tags listed (or, when the source did not list,
// the tags named) as seen at seen.
func storeTags(ctx context.Context, tx pgx.Tx, id int64, r *Repository, seen time.Time) error {
	tags := r.Listed
	if tags == nil {
		tags = r.Tags
	}
	if len(tags) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO repository_tags (repository_id, tag, first_seen, last_seen)
		SELECT DISTINCT $1::bigint, t, $3::timestamptz, $3::timestamptz FROM unnest($2::text[]) AS t
		ON CONFLICT (repository_id, tag) DO UPDATE SET
			first_seen = least(repository_tags.first_seen, EXCLUDED.first_seen),
			last_seen = greatest(repository_tags.last_seen, EXCLUDED.last_seen)`,
		id, tags, seen)
	if err != nil {
		return fmt.Errorf("store tags of %s: %w", r.Name, err)
	}
	return nil
}

// ErrNoRun is returned for a run id the database does not hold.
var ErrNoRun = errors.New("no such collect run")

// Status is a run's progress as stored.
type Status struct {
	RunID        string     `json:"run_id"`
	Cursor       string     `json:"cursor"`
	Repositories int        `json:"repositories"`
	Names        int        `json:"names"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	Error        string     `json:"error,omitempty"`
}

// Status reads the progress of run.
func (c *Collector) Status(ctx context.Context, run string) (Status, error) {
	st := Status{RunID: run}
	err := c.pool.QueryRow(ctx, `
		SELECT cursor, repositories, names, started_at, finished_at, error
		FROM collect_runs WHERE run_id = $1`, run).Scan(&st.Cursor, &st.Repositories,
		&st.Names, &st.StartedAt, &st.FinishedAt, &st.Error)
	if errors.Is(err, pgx.ErrNoRows) {
		return Status{}, fmt.Errorf("%w: %s", ErrNoRun, run)
	}
	if err != nil {
		return Status{}, fmt.Errorf("read run %s: %w", run, err)
	}
	return st, nil
}
