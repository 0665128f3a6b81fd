package notices

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned by [Show] for a notice id that is not stored.
var ErrNotFound = errors.New("notice not found")

// Summary is one stored notice as [List] returns it.
type Summary struct {
	ID, Source, Title, Severity string
	// Published is the zero time when the feed did not say.
	Published time.Time
	CVEs      []string
	// Affected is the number of affected rows.
	Affected int
}

// Row is one stored affected row.
type Row struct {
	Ecosystem, Release, Package, Status, FixedVersion string
	// Ranges is the OSV ranges JSON, "[]" for feeds without ranges.
	Ranges string
}

// Detail is one stored notice with its affected rows, as [Show] returns it.
type Detail struct {
	Summary
	URL       string
	UpdatedAt time.Time
	Rows      []Row
}

// List returns up to limit stored notices, newest published first, of
// source or of every source when source is "".
func List(ctx context.Context, pool *pgxpool.Pool, source string, limit int) ([]Summary,
	error) {
	rows, err := pool.Query(ctx, `
		SELECT n.id, n.source, n.title, n.severity, n.published, n.cves,
			(SELECT count(*) FROM affected a WHERE a.notice_id = n.id)
		FROM notices n WHERE $1 = '' OR n.source = $1
		ORDER BY n.published DESC NULLS LAST, n.id LIMIT $2`, source, limit)
	if err != nil {
		return nil, fmt.Errorf("list notices: %w", err)
	}
	var out []Summary
	var s Summary
	var published *time.Time
	_, err = pgx.ForEachRow(rows, []any{&s.ID, &s.Source, &s.Title, &s.Severity, &published,
		&s.CVEs, &s.Affected}, func() error {
		s.Published = time.Time{}
		if published != nil {
			s.Published = published.UTC()
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list notices: %w", err)
	}
	return out, nil
}

// Show returns the stored notice id with its affected rows, or an error
// wrapping [ErrNotFound].
func Show(ctx context.Context, pool *pgxpool.Pool, id string) (Detail, error) {
	var d Detail
	var published *time.Time
	err := pool.QueryRow(ctx, `SELECT id, source, title, severity, published, cves, url,
		updated_at FROM notices WHERE id = $1`, id).Scan(&d.ID, &d.Source, &d.Title,
		&d.Severity, &published, &d.CVEs, &d.URL, &d.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Detail{}, fmt.Errorf("show %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Detail{}, fmt.Errorf("show %s: %w", id, err)
	}
	if published != nil {
		d.Published = published.UTC()
	}
	rows, err := pool.Query(ctx, `SELECT ecosystem, release, package, status, fixed_version,
		ranges::text FROM affected WHERE notice_id = $1
		ORDER BY ecosystem, release, package`, id)
	if err != nil {
		return Detail{}, fmt.Errorf("show %s rows: %w", id, err)
	}
	var r Row
	_, err = pgx.ForEachRow(rows, []any{&r.Ecosystem, &r.Release, &r.Package, &r.Status,
		&r.FixedVersion, &r.Ranges}, func() error {
		d.Rows = append(d.Rows, r)
		return nil
	})
	if err != nil {
		return Detail{}, fmt.Errorf("show %s rows: %w", id, err)
	}
	d.Affected = len(d.Rows)
	return d, nil
}
