package notices

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/platform/outbox"
)

// change is a notice that a batch wrote: new, or stored before with
// another content hash.
type change struct {
	notice  advisory.Notice
	hash    string
	created bool
}

// writeBatch stores, in one transaction, each notice of batch whose content
// hash is not the stored one, replacing its affected rows, and what
// announce stores of those changes in the same transaction. It returns the
// changes and announce's batch; unchanged notices are not touched.
func writeBatch(ctx context.Context, pool *pgxpool.Pool, batch []advisory.Notice,
	announce func(pgx.Tx, []change) (*outbox.Batch, error)) (
	changes []change, events *outbox.Batch, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin notice batch: %w", err)
	}
	defer func() {
		if rerr := tx.Rollback(ctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			err = errors.Join(err, fmt.Errorf("roll back notice batch: %w", rerr))
		}
	}()

	changes, err = diff(ctx, tx, batch)
	if err != nil || len(changes) == 0 {
		return nil, nil, err
	}
	if err := upsertNotices(ctx, tx, changes); err != nil {
		return nil, nil, err
	}
	if err := replaceAffected(ctx, tx, changes); err != nil {
		return nil, nil, err
	}
	if events, err = announce(tx, changes); err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("commit notice batch: %w", err)
	}
	return changes, events, nil
}

// diff returns the notices of batch whose content hash differs from the
// stored one, or that are not stored at all.
func diff(ctx context.Context, tx pgx.Tx, batch []advisory.Notice) ([]change, error) {
	ids := make([]string, len(batch))
	for i, n := range batch {
		ids[i] = n.ID
	}
	rows, err := tx.Query(ctx, `SELECT id, content_hash FROM notices WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read stored notice hashes: %w", err)
	}
	stored := make(map[string]string, len(batch))
	var id, hash string
	_, err = pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
		stored[id] = hash
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stored notice hashes: %w", err)
	}

	var changes []change
	for _, n := range batch {
		h := n.ContentHash()
		old, ok := stored[n.ID]
		if ok && old == h {
			continue
		}
		changes = append(changes, change{notice: n, hash: h, created: !ok})
	}
	return changes, nil
}

// upsertNotices writes the notices rows, in one round trip.
func upsertNotices(ctx context.Context, tx pgx.Tx, changes []change) error {
	const q = `
		INSERT INTO notices (id, source, title, published, severity, cves, url,
			content_hash, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
		ON CONFLICT (id) DO UPDATE SET
			source = EXCLUDED.source, title = EXCLUDED.title,
			published = EXCLUDED.published, severity = EXCLUDED.severity,
			cves = EXCLUDED.cves, url = EXCLUDED.url,
			content_hash = EXCLUDED.content_hash, updated_at = EXCLUDED.updated_at`
	b := &pgx.Batch{}
	for _, c := range changes {
		n := c.notice
		var published any
		if !n.Published.IsZero() {
			published = n.Published
		}
		cves := n.CVEs
		if cves == nil {
			cves = []string{}
		}
		b.Queue(q, n.ID, n.Source, n.Title, published, n.Severity, cves, n.URL, c.hash)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("upsert %d notices: %w", len(changes), err)
	}
	return nil
}

// replaceAffected deletes the changed notices' affected rows and copies in
// the new ones.
func replaceAffected(ctx context.Context, tx pgx.Tx, changes []change) error {
	ids := make([]string, 0, len(changes))
	var rows [][]any
	for _, c := range changes {
		ids = append(ids, c.notice.ID)
		for _, a := range c.notice.Affected {
			ranges := []byte(a.Ranges)
			if len(ranges) == 0 {
				ranges = []byte("[]")
			}
			rows = append(rows, []any{c.notice.ID, a.Ecosystem, a.Release, a.Package,
				a.FixedVersion, string(a.Status), string(ranges)})
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM affected WHERE notice_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("delete affected rows of %d notices: %w", len(ids), err)
	}
	cols := []string{"notice_id", "ecosystem", "release", "package", "fixed_version", "status",
		"ranges"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"affected"}, cols,
		pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy %d affected rows: %w", len(rows), err)
	}
	return nil
}

// readCursor returns the validators stored for source and location, or
// none.
func readCursor(ctx context.Context, pool *pgxpool.Pool, source, location string) (
	validators, error) {
	var v validators
	err := pool.QueryRow(ctx, `SELECT etag, last_modified, body_sha256 FROM notice_cursors
		WHERE source = $1 AND location = $2`, source, location).Scan(
		&v.etag, &v.lastModified, &v.sha)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return v, fmt.Errorf("read cursor of %s: %w", source, err)
	}
	return v, nil
}

// writeCursor stores v for source and location.
func writeCursor(ctx context.Context, pool *pgxpool.Pool, source, location string,
	v validators) error {
	_, err := pool.Exec(ctx, `
		INSERT INTO notice_cursors (source, location, etag, last_modified, body_sha256,
			synced_at)
		VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (source, location) DO UPDATE SET etag = EXCLUDED.etag,
			last_modified = EXCLUDED.last_modified, body_sha256 = EXCLUDED.body_sha256,
			synced_at = EXCLUDED.synced_at`,
		source, location, v.etag, v.lastModified, v.sha)
	if err != nil {
		return fmt.Errorf("write cursor of %s: %w", source, err)
	}
	return nil
}
