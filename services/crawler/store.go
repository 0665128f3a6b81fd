package crawler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/distro"
)

// known reports whether the image with manifest digest d is stored.
func (s *Stage) known(ctx context.Context, d string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM images WHERE digest = $1)`, d).
		Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look up image %s: %w", d, err)
	}
	return ok, nil
}

// store writes img in one transaction and returns the event announcing it.
func (s *Stage) store(ctx context.Context, img *Image,
	named *crawlspacev1.ImageNamed) (*crawlspacev1.ImageCrawled, error) {
	var ev *crawlspacev1.ImageCrawled
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		ev, err = storeTx(ctx, tx, img, named)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store image %s: %w", img.Digest, err)
	}
	return ev, nil
}

// storeTx is [Stage.store]'s transaction.
func storeTx(ctx context.Context, tx pgx.Tx, img *Image,
	named *crawlspacev1.ImageNamed) (*crawlspacev1.ImageCrawled, error) {
	observed := time.Now()
	if named.GetNamedAt() != nil {
		observed = named.GetNamedAt().AsTime()
	}
	inserted, err := insertImage(ctx, tx, img, observed)
	if err != nil {
		return nil, err
	}
	if err := insertLayers(ctx, tx, img); err != nil {
		return nil, err
	}
	if inserted {
		if !img.Extracted {
			return nil, errVanished
		}
		if err := copyFeatures(ctx, tx, img); err != nil {
			return nil, err
		}
	}
	if img.Registry != "" {
		if err := storeRepository(ctx, tx, img, named, observed); err != nil {
			return nil, err
		}
	}
	return crawledEvent(ctx, tx, img, named)
}

// insertImage inserts the images row unless it exists, and reports whether
// it inserted it.
func insertImage(ctx context.Context, tx pgx.Tx, img *Image, observed time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO images (digest, config_digest, media_type, os_id, os_version_id,
			os_codename, os_name, release, architecture, created, config, first_seen,
			crawled_at, os_variant)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), $13)
		ON CONFLICT (digest) DO NOTHING`,
		img.Digest, img.ConfigDigest, img.MediaType, img.OS.ID, img.OS.VersionID,
		img.OS.Codename, img.OS.Name, distro.Release(img.OS.ID, img.OS.VersionID, img.OS.Codename),
		img.Architecture, img.Created, configJSON(img.Config), observed,
		img.OS.Variant)
	if err != nil {
		return false, fmt.Errorf("insert image: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// configJSON returns the config as jsonb input. PostgreSQL's jsonb rejects
// \u0000, which a hostile config could hold, so it is escaped away.
func configJSON(cfg []byte) string {
	return strings.ReplaceAll(textOf(cfg), `\u0000`, `\ufffd`)
}

// insertLayers upserts the layers and the image's layer order.
func insertLayers(ctx context.Context, tx pgx.Tx, img *Image) error {
	batch := &pgx.Batch{}
	for i, l := range img.Layers {
		batch.Queue(`INSERT INTO layers (digest, media_type, size) VALUES ($1, $2, $3)
			ON CONFLICT (digest) DO NOTHING`, l.Digest, l.MediaType, l.Size)
		batch.Queue(`INSERT INTO image_layers (image_digest, position, layer_digest)
			VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, img.Digest, i, l.Digest)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("insert layers: %w", err)
	}
	return nil
}

// copyFeatures bulk-loads the packages, files and config files.
func copyFeatures(ctx context.Context, tx pgx.Tx, img *Image) error {
	copies := []struct {
		table string
		cols  []string
		rows  pgx.CopyFromSource
	}{
		{"image_packages", []string{"image_digest", "ecosystem", "name", "version", "arch",
			"source_name", "source_version", "layer_digest"},
			pgx.CopyFromRows(packageRows(img))},
		{"image_files", []string{"image_digest", "path", "type", "mode", "uid", "gid", "size",
			"link", "layer_digest"}, fileRows(img)},
		{"image_config_files", []string{"image_digest", "path", "content"},
			pgx.CopyFromRows(configRows(img))},
	}
	for _, c := range copies {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, c.rows)
		if err != nil {
			return fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	return nil
}

// packageRows returns one row per (ecosystem, name, arch), the last
// stanza winning, as the table's key allows.
func packageRows(img *Image) [][]any {
	seen := make(map[string]int)
	var rows [][]any
	for _, p := range img.Packages {
		row := []any{img.Digest, p.Ecosystem, textOf([]byte(p.Name)), textOf([]byte(p.Version)),
			textOf([]byte(p.Arch)), textOf([]byte(p.SourceName)),
			textOf([]byte(p.SourceVersion)), p.Layer}
		key := p.Ecosystem + "\x00" + row[2].(string) + "\x00" + row[4].(string)
		if i, ok := seen[key]; ok {
			rows[i] = row
			continue
		}
		seen[key] = len(rows)
		rows = append(rows, row)
	}
	return rows
}

// fileRows returns the image's files as rows, one per path, made as COPY
// reads them so that an image of many files is not held twice. Paths and
// links are made storable as text, and owners outside int4 are stored as
// -1. Two paths that differ only in bytes text cannot hold store as one,
// the first of them.
func fileRows(img *Image) pgx.CopyFromSource {
	// Only a path that textOf changes can collide with another.
	var changed map[string]bool
	for _, f := range img.Files {
		if p := textOf([]byte(f.Path)); p != f.Path {
			if changed == nil {
				changed = map[string]bool{}
			}
			changed[p] = false
		}
	}
	i := 0
	return pgx.CopyFromFunc(func() ([]any, error) {
		for ; i < len(img.Files); i++ {
			f := img.Files[i]
			p := textOf([]byte(f.Path))
			if done, ok := changed[p]; ok {
				if done {
					continue
				}
				changed[p] = true
			}
			i++
			return []any{img.Digest, p, string(f.Type), int32(f.Mode), int4(f.UID),
				int4(f.GID), f.Size, textOf([]byte(f.Link)), f.Layer}, nil
		}
		return nil, nil
	})
}

func int4(v int) int32 {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return -1
	}
	return int32(v)
}

func configRows(img *Image) [][]any {
	rows := make([][]any, 0, len(img.ConfigFiles))
	for _, p := range ConfigFilePaths {
		if c, ok := img.ConfigFiles[p]; ok {
			rows = append(rows, []any{img.Digest, p, c})
		}
	}
	return rows
}

// storeRepository upserts the repository, its tag history and popularity.
func storeRepository(ctx context.Context, tx pgx.Tx, img *Image,
	named *crawlspacev1.ImageNamed, observed time.Time) error {
	pop := named.GetPopularity()
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO repositories (registry, name, official, publisher, first_seen)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (registry, name) DO UPDATE SET
			first_seen = least(repositories.first_seen, EXCLUDED.first_seen),
			official = CASE WHEN $6 THEN EXCLUDED.official ELSE repositories.official END,
			publisher = CASE WHEN $6 THEN EXCLUDED.publisher ELSE repositories.publisher END
		RETURNING id`,
		img.Registry, img.Repository, pop.GetOfficial(), pop.GetPublisher(), observed,
		pop != nil).Scan(&id)
	if err != nil {
		return fmt.Errorf("upsert repository %s/%s: %w", img.Registry, img.Repository, err)
	}
	if img.Tag != "" {
		if err := observeTag(ctx, tx, id, img, observed); err != nil {
			return err
		}
	}
	if pop != nil {
		return insertPopularity(ctx, tx, id, named, observed)
	}
	return nil
}

// observeTag records that the tag pointed at img.Digest for img's platform
// at observed. The observation joins the stretch it falls in when that
// names the same digest, or the stretch that follows it when that does,
// and starts a stretch of its own otherwise; so a late redelivery lands
// where it belongs in time, not on the newest stretch. Of two digests seen
// at the same instant, the first is kept. A tag that names a manifest list
// has a history for each platform.
func observeTag(ctx context.Context, tx pgx.Tx, repo int64, img *Image, observed time.Time) error {
	// Serialise observers of one tag so that two replicas cannot both
	// start a stretch.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, $2))`,
		img.Tag, repo); err != nil {
		return fmt.Errorf("lock tag %s: %w", img.Tag, err)
	}
	key := []any{repo, img.Tag, img.Platform}
	in, err := stretchAt(ctx, tx, key, `first_seen <= $4 ORDER BY first_seen DESC`, observed)
	if err != nil {
		return err
	}
	var next stretch
	if in.digest != img.Digest {
		next, err = stretchAt(ctx, tx, key, `first_seen > $4 ORDER BY first_seen`, observed)
		if err != nil {
			return err
		}
	}
	switch {
	case in.digest == img.Digest:
		_, err = tx.Exec(ctx, `
			UPDATE tag_observations SET last_seen = greatest(last_seen, $5)
			WHERE repository_id = $1 AND tag = $2 AND platform = $3 AND first_seen = $4`,
			repo, img.Tag, img.Platform, in.first, observed)
	case next.digest == img.Digest && !in.first.Equal(observed):
		_, err = tx.Exec(ctx, `
			UPDATE tag_observations SET first_seen = $5
			WHERE repository_id = $1 AND tag = $2 AND platform = $3 AND first_seen = $4`,
			repo, img.Tag, img.Platform, next.first, observed)
	default:
		_, err = tx.Exec(ctx, `
			INSERT INTO tag_observations (repository_id, tag, platform, digest, first_seen,
				last_seen)
			VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING`,
			repo, img.Tag, img.Platform, img.Digest, observed)
	}
	if err != nil {
		return fmt.Errorf("observe tag %s: %w", img.Tag, err)
	}
	return nil
}

// stretch is one row of a tag's history; the zero value is none.
type stretch struct {
	digest string
	first  time.Time
}

// stretchAt returns the first stretch of the tag key (repository, tag,
// platform) that where, over $4 = at, picks.
func stretchAt(ctx context.Context, tx pgx.Tx, key []any, where string, at time.Time) (
	stretch, error) {
	var s stretch
	err := tx.QueryRow(ctx, `
		SELECT digest, first_seen FROM tag_observations
		WHERE repository_id = $1 AND tag = $2 AND platform = $3 AND `+where+` LIMIT 1`,
		append(key, at)...).Scan(&s.digest, &s.first)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("read tag %s: %w", key[1], err)
	}
	return s, nil
}

// insertPopularity keeps what the collector saw of the repository.
func insertPopularity(ctx context.Context, tx pgx.Tx, repo int64,
	named *crawlspacev1.ImageNamed, observed time.Time) error {
	pop := named.GetPopularity()
	at := observed
	if pop.GetObservedAt() != nil {
		at = pop.GetObservedAt().AsTime()
	}
	var updated *time.Time
	if pop.GetLastUpdated() != nil {
		t := pop.GetLastUpdated().AsTime()
		updated = &t
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO repository_popularity (repository_id, observed_at, pull_count, star_count,
			bucket, last_updated) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		repo, at, pop.GetPullCount(), pop.GetStarCount(), pop.GetBucket(), updated)
	if err != nil {
		return fmt.Errorf("insert popularity: %w", err)
	}
	return nil
}

// crawledEvent builds image.crawled from what the database holds, so that
// a crawl that skipped extraction announces the stored OS and packages.
func crawledEvent(ctx context.Context, tx pgx.Tx, img *Image,
	named *crawlspacev1.ImageNamed) (*crawlspacev1.ImageCrawled, error) {
	osv := &crawlspacev1.OS{}
	var count int32
	err := tx.QueryRow(ctx, `
		SELECT os_id, os_version_id, os_codename,
			(SELECT count(*) FROM image_packages WHERE image_digest = $1)::int
		FROM images WHERE digest = $1`, img.Digest).
		Scan(&osv.Id, &osv.VersionId, &osv.Codename, &count)
	if err != nil {
		return nil, fmt.Errorf("read stored image: %w", err)
	}
	ev := &crawlspacev1.ImageCrawled{
		Ref:          img.Ref,
		Digest:       img.Digest,
		RunId:        named.GetRunId(),
		PackageCount: count,
	}
	if osv.Id != "" || osv.VersionId != "" || osv.Codename != "" {
		ev.Os = osv
	}
	return ev, nil
}
