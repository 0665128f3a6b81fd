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

// imageQuery reads the image's user and whether it has an SSH server.
const imageQuery = `
	SELECT coalesce(i.config->'config'->>'User', ''),
		EXISTS (SELECT 1 FROM image_packages p
			WHERE p.image_digest = i.digest AND p.name = 'openssh-server')
		OR EXISTS (SELECT 1 FROM image_files f
			WHERE f.image_digest = i.digest AND f.path = $2)
	FROM images i WHERE i.digest = $1`

// loadFacts reads what the rules need of the image with digest d.
func loadFacts(ctx context.Context, pool *pgxpool.Pool, d string) (*Facts, error) {
	f := &Facts{Files: map[string]string{}}
	err := pool.QueryRow(ctx, imageQuery, d, pathSSHD).Scan(&f.User, &f.SSHServer)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errImageNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}

	rows, err := pool.Query(ctx, `
		SELECT path, content FROM image_config_files
		WHERE image_digest = $1 AND path = ANY($2)`,
		d, []string{pathSSHDConfig, pathPasswd, pathShadow})
	if err != nil {
		return nil, fmt.Errorf("read config files: %w", err)
	}
	var path, content string
	_, err = pgx.ForEachRow(rows, []any{&path, &content}, func() error {
		f.Files[path] = content
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read config files: %w", err)
	}
	return f, nil
}

// upsertResult stores one result. An unchanged result is not written at
// all, so that checked_at keeps the time the result was first reached.
const upsertResult = `
	INSERT INTO rule_results (image_digest, rule_id, category, severity, status, evidence,
		checked_at)
	VALUES ($1, $2, $3, $4, $5, $6, now())
	ON CONFLICT (image_digest, rule_id) DO UPDATE SET
		category = EXCLUDED.category,
		severity = EXCLUDED.severity,
		status = EXCLUDED.status,
		evidence = EXCLUDED.evidence,
		checked_at = EXCLUDED.checked_at
	WHERE (rule_results.category, rule_results.severity, rule_results.status,
		rule_results.evidence)
		IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.severity, EXCLUDED.status,
		EXCLUDED.evidence)`

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
		b.Queue(upsertResult, d, r.Rule.ID, r.Rule.Category, r.Rule.Severity,
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
