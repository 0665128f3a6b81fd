package matcher

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
)

// The distribution ecosystems, whose affected rows name a release, appear
// in these queries as ('dpkg', 'rpm', 'apk'); see isDistro.

// noticeCandidates lists the packages of stored images that the notice's
// affected rows name: in the row's release for distribution packages, any
// image's for language packages (release ”).
const noticeCandidates = `
	SELECT p.image_digest, i.release, p.ecosystem, p.name, p.source_name, p.source_version
	FROM affected a
	JOIN image_packages p ON p.source_name = a.package AND p.ecosystem = a.ecosystem
	JOIN images i ON i.digest = p.image_digest
	WHERE a.notice_id = $1 AND (i.release = a.release
		OR (a.release = '' AND a.ecosystem NOT IN ('dpkg', 'rpm', 'apk')))
	ORDER BY p.image_digest, p.ecosystem, p.name, p.arch`

// imageCandidates is one image's packages that a notice names.
type imageCandidates struct {
	release string
	pkgs    []Package
}

// rematchNotice brings every stored image's findings for one notice up to
// date in one transaction with a fixed number of statements, whatever the
// number of images: the candidate packages are read in one query, the
// notice's findings in another, the decisions made in Go, and the changes
// written in bulk. It returns an image.matched envelope for each image that
// changed, and the number of images looked at.
//
// Images are not locked: an image's packages never change for its digest,
// so a concurrent [Stage.matchImage] decides this notice's findings from
// the same rows, and both writes are idempotent upserts of the same values.
func (s *Stage) rematchNotice(ctx context.Context, ev *crawlspacev1.NoticeParsed) (
	[]bus.Envelope, int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	id := ev.GetId()
	affs, err := noticeAffected(ctx, tx, id)
	if err != nil {
		return nil, 0, err
	}
	cands, err := readNoticeCandidates(ctx, tx, id)
	if err != nil {
		return nil, 0, err
	}
	have, err := noticeFindings(ctx, tx, id)
	if err != nil {
		return nil, 0, err
	}

	ch := s.noticeChanges(ctx, id, NewIndex(affs), cands, have)
	if err := ch.write(ctx, tx, id, have); err != nil {
		return nil, 0, err
	}
	if err := markFed(ctx, tx, id); err != nil {
		return nil, 0, err
	}
	envs, err := ch.envelopes(ctx, tx, ev)
	if err != nil {
		return nil, 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, 0, fmt.Errorf("commit findings: %w", err)
	}
	images := len(cands)
	for d := range have {
		if _, ok := cands[d]; !ok {
			images++
		}
	}
	return envs, images, nil
}

// noticeAffected reads the notice's affected rows.
func noticeAffected(ctx context.Context, tx pgx.Tx, id string) ([]Affected, error) {
	rows, err := tx.Query(ctx, `
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
	return out, nil
}

// readNoticeCandidates groups noticeCandidates' rows by image, the first
// architecture of a binary first.
func readNoticeCandidates(ctx context.Context, tx pgx.Tx, id string) (
	map[string]*imageCandidates, error) {
	rows, err := tx.Query(ctx, noticeCandidates, id)
	if err != nil {
		return nil, fmt.Errorf("read candidates: %w", err)
	}
	out := map[string]*imageCandidates{}
	var d, release string
	var p Package
	_, err = pgx.ForEachRow(rows, []any{&d, &release, &p.Ecosystem, &p.Name, &p.SourceName,
		&p.SourceVersion}, func() error {
		c := out[d]
		if c == nil {
			c = &imageCandidates{release: release}
			out[d] = c
		}
		c.pkgs = append(c.pkgs, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read candidates: %w", err)
	}
	return out, nil
}

// noticeFindings reads every finding of the notice, open and resolved, by
// image.
func noticeFindings(ctx context.Context, tx pgx.Tx, id string) (map[string]map[key]stored,
	error) {
	rows, err := tx.Query(ctx, `
		SELECT image_digest, ecosystem, package, source_name, installed_version,
			fixed_version, release, status, comparator, resolved_at IS NOT NULL
		FROM findings WHERE notice_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	out := map[string]map[key]stored{}
	var d string
	k := key{noticeID: id}
	var f stored
	_, err = pgx.ForEachRow(rows, []any{&d, &k.ecosystem, &k.pkg, &f.sourceName,
		&f.installedVersion, &f.fixedVersion, &f.release, &f.status, &f.comparator,
		&f.resolved}, func() error {
		if out[d] == nil {
			out[d] = map[key]stored{}
		}
		out[d][k] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	return out, nil
}

// noticeChange is what one notice changes for one image.
type noticeChange struct {
	plan
	digest string
}

// changes are the per-image plans of one notice's rematch.
type changes []noticeChange

// noticeChanges decides every candidate image against the notice and
// returns the plans of the images whose findings change.
func (s *Stage) noticeChanges(ctx context.Context, id string, idx Index,
	cands map[string]*imageCandidates, have map[string]map[key]stored) changes {
	var out changes
	for d, c := range cands {
		want, skips := Match(c.release, uniquePackages(c.pkgs), idx)
		for _, sk := range skips {
			s.log.WarnContext(ctx, "package skipped", "digest", d, "package", sk.pkg.Name,
				"notice", id, "err", sk.err)
		}
		if p := diff(have[d], want); len(p.upserts) > 0 || len(p.resolves) > 0 {
			out = append(out, noticeChange{plan: p, digest: d})
		}
	}
	// Images with findings of the notice but no candidate package left.
	for d, h := range have {
		if _, ok := cands[d]; ok {
			continue
		}
		if p := diff(h, nil); len(p.resolves) > 0 {
			out = append(out, noticeChange{plan: p, digest: d})
		}
	}
	return out
}

// upsertFindings writes many findings of one notice; see upsertFinding.
const upsertFindings = `
	INSERT INTO findings (image_digest, package, notice_id, ecosystem, source_name,
		installed_version, fixed_version, release, status, comparator, first_seen)
	SELECT u.d, u.p, $1, u.e, u.s, u.i, u.f, u.r, u.st, u.c, now()
	FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::text[], $10::text[]) AS u (d, p, e, s, i, f, r, st, c)
	ON CONFLICT (image_digest, ecosystem, package, notice_id) DO UPDATE SET
		source_name = EXCLUDED.source_name,
		installed_version = EXCLUDED.installed_version,
		fixed_version = EXCLUDED.fixed_version,
		release = EXCLUDED.release,
		status = EXCLUDED.status,
		comparator = EXCLUDED.comparator,
		resolved_at = NULL`

// insertFindings writes findings of one notice that have no row yet.
const insertFindings = `
	INSERT INTO findings (image_digest, package, notice_id, ecosystem, source_name,
		installed_version, fixed_version, release, status, comparator, first_seen)
	SELECT u.d, u.p, $1, u.e, u.s, u.i, u.f, u.r, u.st, u.c, now()
	FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::text[], $10::text[]) AS u (d, p, e, s, i, f, r, st, c)`

// resolveFindings resolves many open findings of one notice.
const resolveFindings = `
	UPDATE findings f SET resolved_at = now()
	FROM unnest($2::text[], $3::text[], $4::text[]) AS u (d, e, p)
	WHERE f.image_digest = u.d AND f.ecosystem = u.e AND f.package = u.p
	  AND f.notice_id = $1 AND f.resolved_at IS NULL`

// write applies every plan with at most three statements: new findings
// are plainly inserted, changed or reopened ones upserted.
func (cs changes) write(ctx context.Context, tx pgx.Tx, id string,
	have map[string]map[key]stored) error {
	var ins, up [9][]string
	var res [3][]string
	for _, c := range cs {
		for k, f := range c.upserts {
			cols := &up
			if _, ok := have[c.digest][k]; !ok {
				cols = &ins
			}
			for i, v := range []string{c.digest, k.pkg, k.ecosystem, f.sourceName,
				f.installedVersion, f.fixedVersion, f.release, f.status, f.comparator} {
				cols[i] = append(cols[i], v)
			}
		}
		for _, k := range c.resolves {
			res[0], res[1] = append(res[0], c.digest), append(res[1], k.ecosystem)
			res[2] = append(res[2], k.pkg)
		}
	}
	for _, w := range []struct {
		sql  string
		cols [9][]string
	}{{insertFindings, ins}, {upsertFindings, up}} {
		if len(w.cols[0]) == 0 {
			continue
		}
		args := []any{id}
		for _, col := range w.cols {
			args = append(args, col)
		}
		if _, err := tx.Exec(ctx, w.sql, args...); err != nil {
			return fmt.Errorf("write findings: %w", err)
		}
	}
	if len(res[0]) > 0 {
		if _, err := tx.Exec(ctx, resolveFindings, id, res[0], res[1], res[2]); err != nil {
			return fmt.Errorf("resolve findings: %w", err)
		}
	}
	return nil
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
// each image's count of open findings after the change.
func (cs changes) envelopes(ctx context.Context, tx pgx.Tx, ev *crawlspacev1.NoticeParsed) (
	[]bus.Envelope, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	digests := make([]string, len(cs))
	for i, c := range cs {
		digests[i] = c.digest
	}
	rows, err := tx.Query(ctx, `
		SELECT image_digest, count(*) FROM findings
		WHERE image_digest = ANY($1) AND resolved_at IS NULL GROUP BY 1`, digests)
	if err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	open := map[string]int{}
	var d string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&d, &n}, func() error {
		open[d] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	envs := make([]bus.Envelope, len(cs))
	for i, c := range cs {
		r := result{open: open[c.digest], added: c.added, resolved: c.resolved, changed: true}
		envs[i] = bus.Envelope{
			Subject: crawlspacev1.SubjectImageMatched,
			MsgID:   "matched:" + c.digest + ":" + ev.GetId() + ":" + ev.GetContentHash(),
			Message: r.event(c.digest),
		}
	}
	return envs, nil
}
