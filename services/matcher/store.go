package matcher

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/matcher/version/dpkg"
)

// errImageNotFound means the digest is not in the images table.
var errImageNotFound = errors.New("image not in database")

// matchImage brings the findings of the image with digest d up to date in
// one transaction. The image's row is locked first, so that two matches of
// one image, after a crawl and after a notice, run one after the other.
func (s *Stage) matchImage(ctx context.Context, d string) (result, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return result{}, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	release, err := lockImage(ctx, tx, d)
	if err != nil {
		return result{}, err
	}
	if release == "" {
		// TODO(crawlspace): record why the image was not matched (no
		// os-release codename) so that the report can count such images.
		s.log.WarnContext(ctx, "image has no release codename", "digest", d)
		return result{}, nil
	}

	want, err := s.wanted(ctx, tx, d, release)
	if err != nil {
		return result{}, err
	}
	have, err := existing(ctx, tx, d)
	if err != nil {
		return result{}, err
	}
	p := diff(have, want)
	res := result{open: p.open, added: p.added, resolved: p.resolved}
	if len(p.upserts) == 0 && len(p.resolves) == 0 {
		return res, nil
	}

	if err := apply(ctx, tx, d, p); err != nil {
		return result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return result{}, fmt.Errorf("commit findings: %w", err)
	}
	res.changed = true
	return res, nil
}

// lockImage locks the image's row and returns its release codename.
func lockImage(ctx context.Context, tx pgx.Tx, d string) (string, error) {
	var release string
	err := tx.QueryRow(ctx,
		`SELECT release FROM images WHERE digest = $1 FOR UPDATE`, d).Scan(&release)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errImageNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read image: %w", err)
	}
	return release, nil
}

// candidateQuery joins the image's packages with the affected rows of its
// release that name their source package. Rows of several architectures of
// one binary come in architecture order.
const candidateQuery = `
	SELECT p.name, p.source_name, p.source_version, a.notice_id, a.fixed_version, a.status
	FROM image_packages p
	JOIN affected a ON a.package = p.source_name AND a.ecosystem = p.ecosystem
	WHERE p.image_digest = $1 AND p.ecosystem = $2 AND a.release = $3
	  AND a.status NOT IN ('not-affected', 'undetermined')
	ORDER BY p.name, a.notice_id, p.arch`

// wanted returns the findings the image should have now. A row that
// cannot be decided, such as one with an invalid version, is logged and
// skipped so that it does not hide the rest.
func (s *Stage) wanted(ctx context.Context, tx pgx.Tx, d, release string) (map[key]finding,
	error) {
	rows, err := tx.Query(ctx, candidateQuery, d, ecosystemDpkg, release)
	if err != nil {
		return nil, fmt.Errorf("read candidates: %w", err)
	}
	cands, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (candidate, error) {
		var c candidate
		err := r.Scan(&c.pkg, &c.sourceName, &c.sourceVersion, &c.noticeID,
			&c.fixedVersion, &c.status)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read candidates: %w", err)
	}

	want := map[key]finding{}
	for _, c := range cands {
		k := key{pkg: c.pkg, noticeID: c.noticeID}
		if _, ok := want[k]; ok {
			continue
		}
		f, vulnerable, err := decide(c, release)
		if err != nil {
			s.log.WarnContext(ctx, "package skipped", "digest", d, "package", c.pkg,
				"notice", c.noticeID, "err", err)
			continue
		}
		if vulnerable {
			want[k] = f
		}
	}
	return want, nil
}

// existing returns the image's findings, open and resolved.
func existing(ctx context.Context, tx pgx.Tx, d string) (map[key]stored, error) {
	rows, err := tx.Query(ctx, `
		SELECT package, notice_id, source_name, installed_version, fixed_version, release,
			status, resolved_at IS NOT NULL
		FROM findings WHERE image_digest = $1`, d)
	if err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	have := map[key]stored{}
	var k key
	var f stored
	_, err = pgx.ForEachRow(rows, []any{&k.pkg, &k.noticeID, &f.sourceName,
		&f.installedVersion, &f.fixedVersion, &f.release, &f.status, &f.resolved},
		func() error {
			have[k] = f
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	return have, nil
}

// upsertFinding inserts a finding first seen now, or updates one in place:
// a reopened finding keeps its first_seen and loses its resolved_at.
const upsertFinding = `
	INSERT INTO findings (image_digest, package, notice_id, ecosystem, source_name,
		installed_version, fixed_version, release, status, comparator, first_seen)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
	ON CONFLICT (image_digest, package, notice_id) DO UPDATE SET
		ecosystem = EXCLUDED.ecosystem,
		source_name = EXCLUDED.source_name,
		installed_version = EXCLUDED.installed_version,
		fixed_version = EXCLUDED.fixed_version,
		release = EXCLUDED.release,
		status = EXCLUDED.status,
		comparator = EXCLUDED.comparator,
		resolved_at = NULL`

// resolveFinding marks an open finding resolved now.
const resolveFinding = `
	UPDATE findings SET resolved_at = now()
	WHERE image_digest = $1 AND package = $2 AND notice_id = $3 AND resolved_at IS NULL`

// apply writes p's upserts and resolutions in one batch.
func apply(ctx context.Context, tx pgx.Tx, d string, p plan) error {
	b := &pgx.Batch{}
	for k, f := range p.upserts {
		b.Queue(upsertFinding, d, k.pkg, k.noticeID, ecosystemDpkg, f.sourceName,
			f.installedVersion, f.fixedVersion, f.release, f.status, dpkg.Comparator)
	}
	for _, k := range p.resolves {
		b.Queue(resolveFinding, d, k.pkg, k.noticeID)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	return nil
}

// imagesQuery finds every image a notice may concern: those of a named
// release with a package built from a named source, and those with an
// open finding for the notice, which a changed notice may resolve.
const imagesQuery = `
	SELECT i.digest
	FROM unnest($1::text[], $2::text[]) AS a (release, package)
	JOIN images i ON i.release = a.release
	JOIN image_packages p ON p.image_digest = i.digest AND p.source_name = a.package
	WHERE p.ecosystem = $3
	UNION
	SELECT image_digest FROM findings WHERE notice_id = $4 AND resolved_at IS NULL
	ORDER BY 1`

// imagesForNotice returns the digests of the images ev may concern.
func (s *Stage) imagesForNotice(ctx context.Context, ev *crawlspacev1.NoticeParsed) ([]string,
	error) {
	releases := make([]string, 0, len(ev.GetAffected()))
	pkgs := make([]string, 0, len(ev.GetAffected()))
	for _, a := range ev.GetAffected() {
		releases = append(releases, a.GetRelease())
		pkgs = append(pkgs, a.GetPackage())
	}
	rows, err := s.pool.Query(ctx, imagesQuery, releases, pkgs, ecosystemDpkg, ev.GetId())
	if err != nil {
		return nil, fmt.Errorf("find images: %w", err)
	}
	digests, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find images: %w", err)
	}
	return digests, nil
}
