package compliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// errImageNotFound means the digest is not in the images table.
var errImageNotFound = errors.New("image not in database")

// loadFeatures reads what the rules need of the image with digest d.
func loadFeatures(ctx context.Context, pool *pgxpool.Pool, d string) (*Features, error) {
	f := &Features{ConfigFiles: map[string]string{}}
	err := pool.QueryRow(ctx, `
		SELECT os_id, os_version_id, os_codename, config::text FROM images WHERE digest = $1`,
		d).Scan(&f.OS.ID, &f.OS.VersionID, &f.OS.Codename, &f.Config)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errImageNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if err := loadRows(ctx, pool, d, f); err != nil {
		return nil, err
	}
	return f, nil
}

// loadRows reads the image's files, packages and captured config files.
func loadRows(ctx context.Context, pool *pgxpool.Pool, d string, f *Features) error {
	rows, err := pool.Query(ctx, `
		SELECT path, type, mode, uid, gid, size, link FROM image_files
		WHERE image_digest = $1 ORDER BY path`, d)
	if err != nil {
		return fmt.Errorf("read files: %w", err)
	}
	var fl File
	_, err = pgx.ForEachRow(rows, []any{&fl.Path, &fl.Type, &fl.Mode, &fl.UID, &fl.GID,
		&fl.Size, &fl.Link}, func() error {
		f.Files = append(f.Files, fl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read files: %w", err)
	}
	rows, err = pool.Query(ctx, `
		SELECT ecosystem, name, version, source_name FROM image_packages
		WHERE image_digest = $1 ORDER BY name, arch`, d)
	if err != nil {
		return fmt.Errorf("read packages: %w", err)
	}
	var p Package
	_, err = pgx.ForEachRow(rows, []any{&p.Ecosystem, &p.Name, &p.Version, &p.Source},
		func() error {
			f.Packages = append(f.Packages, p)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read packages: %w", err)
	}
	rows, err = pool.Query(ctx, `
		SELECT path, content FROM image_config_files WHERE image_digest = $1`, d)
	if err != nil {
		return fmt.Errorf("read config files: %w", err)
	}
	var path, content string
	_, err = pgx.ForEachRow(rows, []any{&path, &content}, func() error {
		f.ConfigFiles[path] = content
		return nil
	})
	if err != nil {
		return fmt.Errorf("read config files: %w", err)
	}
	return nil
}

// upsertResult stores one result. An unchanged result is not written at
// all, so that checked_at keeps the time the result was first reached.
const upsertResult = `
	INSERT INTO rule_results (image_digest, rule_id, title, category, severity, status,
		evidence, checked_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, now())
	ON CONFLICT (image_digest, rule_id) DO UPDATE SET
		title = EXCLUDED.title,
		category = EXCLUDED.category,
		severity = EXCLUDED.severity,
		status = EXCLUDED.status,
		evidence = EXCLUDED.evidence,
		checked_at = EXCLUDED.checked_at
	WHERE (rule_results.title, rule_results.category, rule_results.severity,
		rule_results.status, rule_results.evidence)
		IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.category, EXCLUDED.severity,
		EXCLUDED.status, EXCLUDED.evidence)`

// writeResults stores results in one batch and returns how many rows
// changed.
func writeResults(ctx context.Context, pool *pgxpool.Pool, d string,
	results []Result) (int, error) {
	b := &pgx.Batch{}
	for _, r := range results {
		ev, err := json.Marshal(r.Evidence)
		if err != nil {
			return 0, fmt.Errorf("encode evidence of %s: %w", r.Rule.ID, err)
		}
		b.Queue(upsertResult, d, r.Rule.ID, r.Rule.Title, r.Rule.Category, r.Rule.Severity,
			string(r.Status), string(ev))
	}
	br := pool.SendBatch(ctx, b)
	changed := 0
	for _, r := range results {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return 0, fmt.Errorf("write result %s: %w", r.Rule.ID, err)
		}
		changed += int(tag.RowsAffected())
	}
	if err := br.Close(); err != nil {
		return 0, fmt.Errorf("write results: %w", err)
	}
	return changed, nil
}
