package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"crawlspace.dev/migrations"
	"crawlspace.dev/services/platform/store/storetest"
)

// TestMigrationsDownAndUp applies the migrations one by one over a
// database holding a tag observation of an arm64 image, then takes every
// one back and applies them again: each Down undoes its Up, and the tag
// history keeps its row with its platform filled in from the image.
func TestMigrationsDownAndUp(t *testing.T) {
	ctx := context.Background()
	pool, _ := storetest.Empty(t)
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}

	// Before tag platforms: one arm64 image observed under a tag.
	if _, err := p.UpTo(ctx, 11); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO images (digest, config_digest, media_type, architecture, config,
			first_seen, crawled_at)
		 VALUES ('sha256:arm', 'sha256:c', 'm', 'arm64',
			'{"os": "linux", "architecture": "arm64", "variant": "v8"}', now(), now())`,
		`INSERT INTO repositories (registry, name, first_seen)
		 VALUES ('docker.io', 'library/debian', now())`,
		`INSERT INTO tag_observations (repository_id, tag, digest, first_seen, last_seen)
		 SELECT id, 'bookworm', 'sha256:arm', now(), now() FROM repositories`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var platform string
	if err := pool.QueryRow(ctx, `SELECT platform FROM tag_observations`).Scan(
		&platform); err != nil || platform != "linux/arm64/v8" {
		t.Fatalf("backfilled platform %q (%v), want linux/arm64/v8", platform, err)
	}

	if _, err := pool.Exec(ctx, `DELETE FROM tag_observations; DELETE FROM repositories;
		DELETE FROM images`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("take every migration back: %v", err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("apply them again: %v", err)
	}
}
