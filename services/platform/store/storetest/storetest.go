// Package storetest gives tests a fresh, migrated PostgreSQL database on the
// server named by CRAWLSPACE_TEST_PG.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/store"
)

// URL returns CRAWLSPACE_TEST_PG. When it is unset the test is skipped, or
// fails when CI is set, so that a green CI run means the database ran.
func URL(t testing.TB) string {
	t.Helper()
	return ocitest.Env(t, "CRAWLSPACE_TEST_PG")
}

// New creates an empty database, applies the migrations, and drops it when
// the test ends. It returns the pool and the database's URL.
func New(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	pool, dbURL := Empty(t)
	if err := store.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return pool, dbURL
}

// Empty is [New] without the migrations, for tests of the migrations
// themselves.
func Empty(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	base := URL(t)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to test postgres: %v", err)
	}
	defer admin.Close(ctx)

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "crawlspace_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Fatal("CRAWLSPACE_TEST_PG must be a postgres:// URL")
	}
	u.Path = "/" + name
	dbURL := u.String()

	pool, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return pool, dbURL
}
