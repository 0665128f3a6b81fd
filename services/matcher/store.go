package matcher

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/distro"
)

// errImageNotFound means the digest is not in the images table.
var errImageNotFound = errors.New("image not in database")

// Match statuses recorded in image_match_status.
const (
	matchMatched   = "matched"
	matchNoRelease = "no-release"
	matchNoFeed    = "no-feed"
)

// imageRow is what the matcher reads of an image.
type imageRow struct {
	release string
	osID    string
	osVer   string
}

// matchImage brings the findings of the image with digest d up to date in
// one transaction. The image's row is locked first, so that two matches of
// one image, after a crawl and after a notice, run one after the other.
// The result carries the event that announce makes of it, stored in the
// outbox with the change when there was one.
func (s *Stage) matchImage(ctx context.Context, d string,
	announce func(result) bus.Envelope) (result, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return result{}, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	img, err := lockImage(ctx, tx, d)
	if err != nil {
		return result{}, err
	}
	status, reason, err := coverage(ctx, tx, img)
	if err != nil {
		return result{}, err
	}
	wrote, err := recordStatus(ctx, tx, d, status, reason)
	if err != nil {
		return result{}, err
	}

	want, err := s.wanted(ctx, tx, d, img.release)
	if err != nil {
		return result{}, err
	}
	have, err := existing(ctx, tx, d)
	if err != nil {
		return result{}, err
	}
	tags, err := readTags(ctx, tx, []string{d})
	if err != nil {
		return result{}, err
	}
	p := diff(have, want)
	res := result{open: p.open, added: p.added, resolved: p.resolved, tags: tags[d]}
	res.changed = len(p.upserts) > 0 || len(p.resolves) > 0
	env := announce(res)
	if !res.changed && !wrote {
		res.unstored = &env
		return res, nil
	}
	if err := apply(ctx, tx, d, p); err != nil {
		return result{}, err
	}
	if res.stored, err = s.out.Put(ctx, tx, env.MsgID, []bus.Envelope{env}); err != nil {
		return result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return result{}, fmt.Errorf("commit findings: %w", err)
	}
	return res, nil
}

// lockImage locks the image's row and returns what the match needs of it.
func lockImage(ctx context.Context, tx pgx.Tx, d string) (imageRow, error) {
	var img imageRow
	err := tx.QueryRow(ctx,
		`SELECT release, os_id, os_version_id FROM images WHERE digest = $1 FOR UPDATE`,
		d).Scan(&img.release, &img.osID, &img.osVer)
	if errors.Is(err, pgx.ErrNoRows) {
		return imageRow{}, errImageNotFound
	}
	if err != nil {
		return imageRow{}, fmt.Errorf("read image: %w", err)
	}
	return img, nil
}

// coverage says whether the image's distribution packages can be matched:
// its release must be known and some notice must name that release.
func coverage(ctx context.Context, tx pgx.Tx, img imageRow) (string, string, error) {
	if img.release == "" {
		return matchNoRelease, fmt.Sprintf("os %q version %q has no known release; "+
			"only language packages were matched", img.osID, img.osVer), nil
	}
	var fed bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM affected WHERE release = $1)`,
		img.release).Scan(&fed)
	if err != nil {
		return "", "", fmt.Errorf("check feed of %s: %w", img.release, err)
	}
	if !fed {
		return matchNoFeed, fmt.Sprintf("no notice names release %q (%s packages)",
			img.release, distro.Ecosystem(img.osID)), nil
	}
	return matchMatched, "", nil
}

// recordStatus stores the image's match status and reports whether it
// changed.
func recordStatus(ctx context.Context, tx pgx.Tx, d, status, reason string) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO image_match_status (image_digest, status, reason, matched_at)
		VALUES ($1, $2, $3, now())
		ON CONFLICT (image_digest) DO UPDATE
		SET status = EXCLUDED.status, reason = EXCLUDED.reason, matched_at = now()
		WHERE (image_match_status.status, image_match_status.reason)
			IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.reason)`, d, status, reason)
	if err != nil {
		return false, fmt.Errorf("record match status: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// candidateQuery joins the image's packages with the affected rows that
// name their source package: those of the image's release for
// distribution packages, those of the empty release for language packages. Rows
// of several architectures of one binary come in architecture order.
const candidateQuery = `
	SELECT p.ecosystem, p.name, p.source_name, p.source_version, a.notice_id, a.release,
		a.package, a.fixed_version, a.status, a.ranges
	FROM image_packages p
	JOIN affected a ON a.package = p.source_name AND a.ecosystem = p.ecosystem
	WHERE p.image_digest = $1
	  AND a.release = CASE WHEN p.ecosystem IN ('dpkg', 'rpm', 'apk') THEN $2 ELSE '' END
	  AND a.status NOT IN ('not-affected', 'undetermined')
	ORDER BY p.ecosystem, p.name, a.notice_id, p.arch`

// wanted returns the findings the image should have now. A row that
// cannot be decided is logged and skipped so that it does not hide the
// rest.
func (s *Stage) wanted(ctx context.Context, tx pgx.Tx, d, release string) (map[key]finding,
	error) {
	rows, err := tx.Query(ctx, candidateQuery, d, release)
	if err != nil {
		return nil, fmt.Errorf("read candidates: %w", err)
	}
	pkgs, affs, err := scanCandidates(rows)
	if err != nil {
		return nil, err
	}
	want, skips := Match(release, uniquePackages(pkgs), NewIndex(uniqueAffected(affs)))
	for _, sk := range skips {
		s.log.WarnContext(ctx, "package skipped", "digest", d, "package", sk.pkg.Name,
			"notice", sk.noticeID, "err", sk.err)
	}
	return want, nil
}

// uniquePackages drops repeats of a package, keeping the first.
func uniquePackages(pkgs []Package) []Package {
	type id struct{ ecosystem, name string }
	seen := map[id]bool{}
	out := pkgs[:0:0]
	for _, p := range pkgs {
		if k := (id{p.Ecosystem, p.Name}); !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// uniqueAffected drops repeats of an affected row, keeping the first.
func uniqueAffected(affs []Affected) []Affected {
	type id struct{ notice, ecosystem, release, pkg string }
	seen := map[id]bool{}
	out := affs[:0:0]
	for _, a := range affs {
		if k := (id{a.NoticeID, a.Ecosystem, a.Release, a.Package}); !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

// scanCandidates reads candidateQuery's rows as pairs of a package and an
// affected row.
func scanCandidates(rows pgx.Rows) ([]Package, []Affected, error) {
	var pkgs []Package
	var affs []Affected
	var p Package
	var a Affected
	var ranges []byte
	_, err := pgx.ForEachRow(rows, []any{&p.Ecosystem, &p.Name, &p.SourceName,
		&p.SourceVersion, &a.NoticeID, &a.Release, &a.Package, &a.FixedVersion, &a.Status,
		&ranges}, func() error {
		a.Ecosystem = p.Ecosystem
		rs, err := parseRanges(ranges)
		if err != nil {
			return fmt.Errorf("notice %s: %w", a.NoticeID, err)
		}
		a.Ranges = rs
		pkgs, affs = append(pkgs, p), append(affs, a)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read candidates: %w", err)
	}
	return pkgs, affs, nil
}

// existing returns the image's findings, open and resolved.
func existing(ctx context.Context, tx pgx.Tx, d string) (map[key]stored, error) {
	rows, err := tx.Query(ctx, `
		SELECT ecosystem, package, notice_id, source_name, installed_version, fixed_version,
			release, status, comparator, resolved_at IS NOT NULL
		FROM findings WHERE image_digest = $1`, d)
	if err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	have := map[key]stored{}
	var k key
	var f stored
	_, err = pgx.ForEachRow(rows, []any{&k.ecosystem, &k.pkg, &k.noticeID, &f.sourceName,
		&f.installedVersion, &f.fixedVersion, &f.release, &f.status, &f.comparator,
		&f.resolved}, func() error {
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
	INSERT INTO findings AS f (image_digest, package, notice_id, ecosystem, source_name,
		installed_version, fixed_version, release, status, comparator, first_seen)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())` + onFindingConflict

// onFindingConflict updates a finding that exists, as f, in place when it
// differs or was resolved: it keeps its first_seen and, reopened, loses its
// resolved_at. An open finding that is the same is not written.
const onFindingConflict = `
	ON CONFLICT (image_digest, ecosystem, package, notice_id) DO UPDATE SET
		source_name = EXCLUDED.source_name,
		installed_version = EXCLUDED.installed_version,
		fixed_version = EXCLUDED.fixed_version,
		release = EXCLUDED.release,
		status = EXCLUDED.status,
		comparator = EXCLUDED.comparator,
		resolved_at = NULL
	WHERE f.resolved_at IS NOT NULL
	   OR (f.source_name, f.installed_version, f.fixed_version, f.release, f.status,
		f.comparator) IS DISTINCT FROM (EXCLUDED.source_name, EXCLUDED.installed_version,
		EXCLUDED.fixed_version, EXCLUDED.release, EXCLUDED.status, EXCLUDED.comparator)`

// resolveFinding marks an open finding resolved now.
const resolveFinding = `
	UPDATE findings SET resolved_at = now()
	WHERE image_digest = $1 AND ecosystem = $2 AND package = $3 AND notice_id = $4
	  AND resolved_at IS NULL`

// apply writes p's upserts and resolutions in one batch.
func apply(ctx context.Context, tx pgx.Tx, d string, p plan) error {
	b := &pgx.Batch{}
	for k, f := range p.upserts {
		b.Queue(upsertFinding, d, k.pkg, k.noticeID, k.ecosystem, f.sourceName,
			f.installedVersion, f.fixedVersion, f.release, f.status, f.comparator)
	}
	for _, k := range p.resolves {
		b.Queue(resolveFinding, d, k.ecosystem, k.pkg, k.noticeID)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	return nil
}
