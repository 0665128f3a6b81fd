// Package store opens crawlspace's PostgreSQL pool, applies its migrations,
// and keeps the failures every stage records. Each stage writes its own
// tables through this pool; the schema in the migrations module is their
// contract.
package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"crawlspace.dev/migrations"
	"crawlspace.dev/services/platform/bus"
)

// Open connects to the database at url (a libpq URL or key=value string)
// and checks that it answers.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL, password included.
		return nil, fmt.Errorf("parse postgres url: invalid connection string")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("reach postgres %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// Migrate applies every migration not yet applied. It is idempotent.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrate(ctx, db)
}

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Failures records failed messages in the failures table. It implements
// [bus.FailureRecorder].
type Failures struct {
	Pool *pgxpool.Pool
}

// RecordFailure keeps f; recording the same message twice keeps the first.
func (s Failures) RecordFailure(ctx context.Context, f bus.Failure) error {
	_, err := s.Pool.Exec(ctx, `
		INSERT INTO failures (consumer, stream, stream_seq, subject, ref, reason,
			attempts, payload, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
		ON CONFLICT (consumer, stream, stream_seq) DO NOTHING`,
		f.Consumer, f.Stream, int64(f.StreamSeq), f.Subject, f.Ref, f.Reason,
		f.Attempts, f.Payload)
	if err != nil {
		return fmt.Errorf("record failure of %s message %d: %w", f.Subject, f.StreamSeq, err)
	}
	return nil
}
