package matcher

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/outbox"
)

// The distribution ecosystems, whose affected rows name a release, appear
// in these queries as ('dpkg', 'rpm', 'apk'); see isDistro.

// noticeCandidates is every package of a stored image that the notice's
// affected rows ($1) name, the first architecture of a binary only: in the
// row's release for distribution packages, in any image for language
// packages (whose rows have the empty release). Its release column is the
// one the package is matched in: the image's, or empty for a language
// package.
const noticeCandidates = `
	SELECT DISTINCT ON (p.image_digest, p.ecosystem, p.name)
		p.image_digest, p.ecosystem, p.name, p.source_name, p.source_version,
		CASE WHEN p.ecosystem IN ('dpkg', 'rpm', 'apk') THEN i.release ELSE '' END AS release
	FROM (SELECT DISTINCT ecosystem, release, package FROM affected WHERE notice_id = $1) a
	JOIN image_packages p ON p.ecosystem = a.ecosystem AND p.source_name = a.package
	JOIN images i ON i.digest = p.image_digest
	WHERE (i.release = a.release
	   OR (a.release = '' AND p.ecosystem NOT IN ('dpkg', 'rpm', 'apk')))`

// candidateVersions is the distinct packages and versions among the
// notice's candidates: what the matcher decides, once each, in Go.
const candidateVersions = `
	SELECT DISTINCT ecosystem, name, source_name, source_version, release
	FROM (` + noticeCandidates + `
	ORDER BY p.image_digest, p.ecosystem, p.name, p.arch) c`

// inPart keeps the images of one part ($13) of a rematch split in $12,
// by a hash of the digest.
const inPart = `(hashtext(%s) & 2147483647) %% $12 = $13`

// rematchStatement applies the decisions ($2 to $11: the candidate version
// decided, and the finding it gives) to every candidate image of notice
// $1 in one statement: findings wanted and missing or different are
// upserted, open ones no longer wanted resolved. It returns each image it
// changed, and whether the notice had an open finding on it before and has
// one after.
//
// The statement is written so that no plan of it is quadratic, whatever
// the statistics say of a table it is filling: it has one hash join, a
// hashed NOT IN, and an aggregate where joins would be.
var rematchStatement = `
	WITH decided (ecosystem, name, source_name, source_version, release,
		installed_version, fixed_version, finding_release, status, comparator) AS (
		SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[], $10::text[], $11::text[])),
	want AS MATERIALIZED (
		SELECT c.image_digest, c.ecosystem, c.name, d.source_name, d.installed_version,
			d.fixed_version, d.finding_release, d.status, d.comparator
		FROM (` + noticeCandidates + ` AND ` + fmt.Sprintf(inPart, "p.image_digest") + `
			ORDER BY p.image_digest, p.ecosystem, p.name, p.arch) c
		JOIN decided d USING (ecosystem, name, source_name, source_version, release)),
	upserted AS (
		INSERT INTO findings AS f (image_digest, package, notice_id, ecosystem, source_name,
			installed_version, fixed_version, release, status, comparator, first_seen)
		SELECT image_digest, name, $1, ecosystem, source_name, installed_version,
			fixed_version, finding_release, status, comparator, now()
		FROM want ORDER BY image_digest, ecosystem, name` + onFindingConflict + `
		RETURNING f.image_digest),
	resolved AS (
		UPDATE findings f SET resolved_at = now()
		WHERE f.notice_id = $1 AND f.resolved_at IS NULL
		  AND ` + fmt.Sprintf(inPart, "f.image_digest") + `
		  AND (f.image_digest, f.ecosystem, f.package) NOT IN (
			SELECT image_digest, ecosystem, name FROM want)
		RETURNING f.image_digest),
	marks (image_digest, changed, before, after) AS (
		SELECT image_digest, true, false, false FROM upserted
		UNION ALL SELECT image_digest, true, false, false FROM resolved
		UNION ALL SELECT image_digest, false, true, false FROM findings
			WHERE notice_id = $1 AND resolved_at IS NULL
			  AND ` + fmt.Sprintf(inPart, "image_digest") + `
		UNION ALL SELECT image_digest, false, false, true FROM want)
	SELECT image_digest, bool_or(before), bool_or(after)
	FROM marks GROUP BY 1 HAVING bool_or(changed) ORDER BY 1`

// countOpen counts the open findings of each image in digests.
const countOpen = `
	SELECT image_digest, count(*) FROM findings
	WHERE image_digest = ANY($1) AND resolved_at IS NULL
	GROUP BY 1`

// rematchParts is how many parts, by image, a rematch writes in
// transactions of their own, and rematchWriters how many of those run at
// once. Each part's events are published once it commits, while the
// others are written.
const (
	rematchParts   = 4
	rematchWriters = 2
)

// rematchNotice brings every stored image's findings for one notice up to
// date with a fixed number of statements, whatever the number of images:
// the distinct candidate versions are read and decided in Go, once each,
// and one statement per part of the images applies the decisions to
// every image of the part that has them. The image.matched events of the
// images that changed are stored with their part's change and published
// once it is committed; what an earlier attempt stored and did not send
// is sent first. It returns the number of images changed.
//
// Images are not locked: an image's packages never change for its digest,
// so a concurrent [Stage.matchImage] decides this notice's findings from
// the same rows, and both writes are idempotent upserts of the same values.
func (s *Stage) rematchNotice(ctx context.Context, ev *crawlspacev1.NoticeParsed) (int,
	error) {
	id := ev.GetId()
	source := "rematch:" + id + ":" + ev.GetContentHash()
	if _, err := s.out.Resend(ctx, source); err != nil {
		return 0, fmt.Errorf("announce earlier rematch: %w", err)
	}
	affs, err := s.noticeAffected(ctx, id)
	if err != nil {
		return 0, err
	}
	cols, err := s.decideCandidates(ctx, id, NewIndex(affs))
	if err != nil {
		return 0, err
	}

	writers, wctx := errgroup.WithContext(ctx)
	writers.SetLimit(rematchWriters)
	pubs, pctx := errgroup.WithContext(ctx)
	var changed atomic.Int64
	for part := range rematchParts {
		writers.Go(func() error {
			if pctx.Err() != nil {
				return pctx.Err()
			}
			batch, err := s.rematchPart(wctx, ev, source, cols, part)
			if err != nil {
				return err
			}
			changed.Add(int64(batch.Len()))
			pubs.Go(func() error { return batch.Send(pctx) })
			return nil
		})
	}
	werr := writers.Wait()
	if err := pubs.Wait(); err != nil {
		return 0, fmt.Errorf("announce rematch: %w", err)
	}
	if werr != nil {
		return 0, werr
	}
	return int(changed.Load()), nil
}

// rematchPart applies the decisions to one part of the images in one
// transaction, the first part also recording the images the notice gives
// a feed. It returns the part's image.matched events, stored with it, to
// send once committed.
func (s *Stage) rematchPart(ctx context.Context, ev *crawlspacev1.NoticeParsed, source string,
	cols [10][]string, part int) (*outbox.Batch, error) {
	id := ev.GetId()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	args := make([]any, 0, 3+len(cols))
	args = append(args, id)
	for _, c := range cols {
		args = append(args, c)
	}
	args = append(args, rematchParts, part)
	rows, err := tx.Query(ctx, rematchStatement, args...)
	if err != nil {
		return nil, fmt.Errorf("write findings: %w", err)
	}
	var changes []imageChange
	var c imageChange
	_, err = pgx.ForEachRow(rows, []any{&c.digest, &c.before, &c.after}, func() error {
		changes = append(changes, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write findings: %w", err)
	}
	if part == 0 {
		if err := markFed(ctx, tx, id); err != nil {
			return nil, err
		}
	}
	envs, err := envelopes(ctx, tx, ev, changes)
	if err != nil {
		return nil, err
	}
	batch, err := s.out.Put(ctx, tx, source, envs)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit findings: %w", err)
	}
	return batch, nil
}

// decideCandidates decides each distinct candidate version of the notice
// against idx, and returns the decisions as the ten columns
// rematchStatement unnests: the candidate's ecosystem, name, source name,
// source version and release, then the finding's installed and fixed
// versions, release, status and comparator. A version that gives no
// finding has no row. Versions that cannot be decided are logged and
// skipped.
func (s *Stage) decideCandidates(ctx context.Context, id string, idx Index) (
	[10][]string, error) {
	var cols [10][]string
	rows, err := s.pool.Query(ctx, candidateVersions, id)
	if err != nil {
		return cols, fmt.Errorf("read candidates: %w", err)
	}
	var p Package
	var release string
	_, err = pgx.ForEachRow(rows, []any{&p.Ecosystem, &p.Name, &p.SourceName,
		&p.SourceVersion, &release}, func() error {
		want, skips := Match(release, []Package{p}, idx)
		for _, sk := range skips {
			s.log.WarnContext(ctx, "package skipped", "package", sk.pkg.Name,
				"version", sk.pkg.SourceVersion, "notice", id, "err", sk.err)
		}
		f, ok := want[key{ecosystem: p.Ecosystem, pkg: p.Name, noticeID: id}]
		if !ok {
			return nil
		}
		for i, v := range []string{p.Ecosystem, p.Name, p.SourceName, p.SourceVersion,
			release, f.installedVersion, f.fixedVersion, f.release, f.status, f.comparator} {
			cols[i] = append(cols[i], v)
		}
		return nil
	})
	if err != nil {
		return cols, fmt.Errorf("read candidates: %w", err)
	}
	return cols, nil
}

// imageChange is what a rematch changed for one image: whether the notice
// had an open finding on it before and has one after.
type imageChange struct {
	digest        string
	before, after bool
}

// noticeAffected reads the notice's affected rows.
func (s *Stage) noticeAffected(ctx context.Context, id string) ([]Affected, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT notice_id, ecosystem, release, package, fixed_version, status, ranges
		FROM affected WHERE notice_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("read affected: %w", err)
	}
	var out []Affected
	var a Affected
	var ranges []byte
	_, err = pgx.ForEachRow(rows, []any{&a.NoticeID, &a.Ecosystem, &a.Release, &a.Package,
		&a.FixedVersion, &a.Status, &ranges}, func() error {
		rs, err := parseRanges(ranges)
		if err != nil {
			return err
		}
		a.Ranges = rs
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read affected of %s: %w", id, err)
	}
	return uniqueAffected(out), nil
}

// markFed records that images of a release the notice names, which had no
// feed, now have one.
func markFed(ctx context.Context, tx pgx.Tx, id string) error {
	_, err := tx.Exec(ctx, `
		UPDATE image_match_status s SET status = 'matched', reason = '', matched_at = now()
		FROM images i
		WHERE i.digest = s.image_digest AND s.status = 'no-feed'
		  AND i.release IN (SELECT release FROM affected WHERE notice_id = $1)`, id)
	if err != nil {
		return fmt.Errorf("record match status: %w", err)
	}
	return nil
}

// envelopes returns the image.matched events of the changed images, with
// each image's count of open findings after the change and the tags that
// point at it, each read with one query for every image.
func envelopes(ctx context.Context, tx pgx.Tx, ev *crawlspacev1.NoticeParsed,
	changes []imageChange) ([]bus.Envelope, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	digests := make([]string, len(changes))
	for i, c := range changes {
		digests[i] = c.digest
	}
	open := make(map[string]int, len(changes))
	var tags map[string][]string
	b := &pgx.Batch{}
	b.Queue(countOpen, digests).Query(func(rows pgx.Rows) error {
		var d string
		var n int
		_, err := pgx.ForEachRow(rows, []any{&d, &n}, func() error {
			open[d] = n
			return nil
		})
		return err
	})
	queueTags(b, digests, &tags)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("count findings and read tags: %w", err)
	}
	id := ev.GetId()
	envs := make([]bus.Envelope, len(changes))
	for i, c := range changes {
		r := result{open: open[c.digest], changed: true}
		switch {
		case c.after && !c.before:
			r.added = []string{id}
		case c.before && !c.after:
			r.resolved = []string{id}
		}
		out := r.event(c.digest)
		out.Tags = tags[c.digest]
		envs[i] = bus.Envelope{
			Subject: crawlspacev1.SubjectImageMatched,
			MsgID:   "matched:" + c.digest + ":" + id + ":" + ev.GetContentHash(),
			Message: out,
		}
	}
	return envs, nil
}
