package matcher

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
)

// The distribution ecosystems, whose affected rows name a release, appear
// in these queries as ('dpkg', 'rpm', 'apk'); see isDistro.

// noticeCandidates lists the packages of stored images that the notice's
// affected rows name: in the row's release for distribution packages, any
// image's for language packages (release ”). The packages are looked up
// first, by their (ecosystem, source_name) index, and their images after.
const noticeCandidates = `
	WITH p AS MATERIALIZED (
		SELECT a.release AS notice_release, p.image_digest, p.ecosystem, p.name,
			p.source_name, p.source_version, p.arch
		FROM affected a
		JOIN image_packages p ON p.ecosystem = a.ecosystem AND p.source_name = a.package
		WHERE a.notice_id = $1)
	SELECT p.image_digest, i.release, p.ecosystem, p.name, p.source_name, p.source_version
	FROM p JOIN images i ON i.digest = p.image_digest
	WHERE i.release = p.notice_release
	   OR (p.notice_release = '' AND p.ecosystem NOT IN ('dpkg', 'rpm', 'apk'))
	ORDER BY p.image_digest, p.ecosystem, p.name, p.arch`

// imageCandidates is one image's packages that a notice names.
type imageCandidates struct {
	release string
	pkgs    []Package
}

// rematchChunk is how many changed images one transaction of a rematch
// writes; the events of a committed chunk are published while the next
// one is written.
const rematchChunk = 2500

// rematchWriters is how many chunk transactions a rematch runs at once.
const rematchWriters = 2

// rematchNotice brings every stored image's findings for one notice up to
// date with a fixed number of statements per chunk of images, whatever
// their number: the candidate packages and the notice's findings are read
// in two queries, the decisions made in Go, and the changes written in
// bulk, rematchChunk images to a transaction. Each chunk's image.matched
// events are published once it is committed, while the next chunk is
// written. It returns the number of images looked at and changed.
//
// Images are not locked: an image's packages never change for its digest,
// so a concurrent [Stage.matchImage] decides this notice's findings from
// the same rows, and both writes are idempotent upserts of the same values.
func (s *Stage) rematchNotice(ctx context.Context, ev *crawlspacev1.NoticeParsed) (
	int, int, error) {
	id := ev.GetId()
	affs, cands, have, err := s.readNotice(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	ch := s.noticeChanges(ctx, id, NewIndex(affs), cands, have)
	slices.SortFunc(ch, func(a, b noticeChange) int { return strings.Compare(a.digest, b.digest) })

	// Chunks are written by two transactions at a time; each publishes its
	// events once committed, while the others are written.
	writers, wctx := errgroup.WithContext(ctx)
	writers.SetLimit(rematchWriters)
	pubs, pctx := errgroup.WithContext(ctx)
	for start := 0; start == 0 || start < len(ch); start += rematchChunk {
		part := ch[start:min(start+rematchChunk, len(ch))]
		first := start == 0
		writers.Go(func() error {
			if pctx.Err() != nil {
				return pctx.Err()
			}
			envs, err := s.commitChunk(wctx, ev, part, first)
			if err != nil {
				return err
			}
			if len(envs) > 0 {
				pubs.Go(func() error { return s.bus.PublishAll(pctx, envs) })
			}
			return nil
		})
	}
	werr := writers.Wait()
	if err := pubs.Wait(); err != nil {
		return 0, 0, fmt.Errorf("announce rematch: %w", err)
	}
	if werr != nil {
		return 0, 0, werr
	}
	images := len(cands)
	for d := range have {
		if _, ok := cands[d]; !ok {
			images++
		}
	}
	return images, len(ch), nil
}

// readNotice reads the notice's affected rows, the candidate packages and
// the notice's findings in one transaction.
func (s *Stage) readNotice(ctx context.Context, id string) ([]Affected,
	map[string]*imageCandidates, map[string]map[key]stored, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead,
		AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	affs, err := noticeAffected(ctx, tx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	cands, err := readNoticeCandidates(ctx, tx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	have, err := noticeFindings(ctx, tx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	return affs, cands, have, nil
}

// commitChunk writes the changes of some images in one transaction, and
// the first chunk also records the images the notice gives a feed. It
// returns the chunk's image.matched envelopes, to publish once committed.
func (s *Stage) commitChunk(ctx context.Context, ev *crawlspacev1.NoticeParsed, cs changes,
	first bool) ([]bus.Envelope, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := cs.write(ctx, tx, ev.GetId()); err != nil {
		return nil, err
	}
	if first {
		if err := markFed(ctx, tx, ev.GetId()); err != nil {
			return nil, err
		}
	}
	envs, err := cs.envelopes(ctx, tx, ev)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit findings: %w", err)
	}
	return envs, nil
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
	memo := matchMemo{}
	for d, c := range cands {
		want, skips := memo.match(c.release, uniquePackages(c.pkgs), idx)
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

// findingWrites is the temporary table a rematch copies its new and
// changed findings into.
const findingWrites = `
	CREATE TEMP TABLE finding_writes (
		image_digest text, package text, ecosystem text, source_name text,
		installed_version text, fixed_version text, release text, status text,
		comparator text
	) ON COMMIT DROP`

// findingWritesCols are findingWrites' columns in COPY order.
var findingWritesCols = []string{"image_digest", "package", "ecosystem", "source_name",
	"installed_version", "fixed_version", "release", "status", "comparator"}

// matchMemo remembers [Match]'s answers by release and packages: images
// built on one base share their candidate packages, and are decided once.
// The findings it returns are shared and must not be changed.
type matchMemo map[string]memoized

// memoized is one answer of [Match].
type memoized struct {
	want  map[key]finding
	skips []skipped
}

// match returns Match(release, pkgs, idx), computed once per distinct
// release and packages.
func (m matchMemo) match(release string, pkgs []Package, idx Index) (map[key]finding,
	[]skipped) {
	var b strings.Builder
	b.WriteString(release)
	for _, p := range pkgs {
		for _, f := range []string{p.Ecosystem, p.Name, p.SourceName, p.SourceVersion} {
			b.WriteByte(0)
			b.WriteString(f)
		}
	}
	k := b.String()
	if r, ok := m[k]; ok {
		return r.want, r.skips
	}
	want, skips := Match(release, pkgs, idx)
	m[k] = memoized{want: want, skips: skips}
	return want, skips
}

// upsertFindings writes finding_writes into findings for one notice: a
// new finding is first seen now, and a changed or reopened one keeps its
// first_seen and loses its resolved_at.
const upsertFindings = `
	INSERT INTO findings (image_digest, package, notice_id, ecosystem, source_name,
		installed_version, fixed_version, release, status, comparator, first_seen)
	SELECT w.image_digest, w.package, $1, w.ecosystem, w.source_name, w.installed_version,
		w.fixed_version, w.release, w.status, w.comparator, now()
	FROM finding_writes w
	ORDER BY w.image_digest, w.ecosystem, w.package` + onFindingConflict

// resolveFindings resolves many open findings of one notice.
const resolveFindings = `
	UPDATE findings f SET resolved_at = now()
	FROM unnest($2::text[], $3::text[], $4::text[]) AS u (d, e, p)
	WHERE f.image_digest = u.d AND f.ecosystem = u.e AND f.package = u.p
	  AND f.notice_id = $1 AND f.resolved_at IS NULL`

// write applies every plan with at most four statements: the new and
// changed findings are copied into a temporary table and upserted from it
// in one statement, and the resolved ones updated in another.
func (cs changes) write(ctx context.Context, tx pgx.Tx, id string) error {
	var rows [][]any
	var res [3][]string
	for _, c := range cs {
		for k, f := range c.upserts {
			rows = append(rows, []any{c.digest, k.pkg, k.ecosystem, f.sourceName,
				f.installedVersion, f.fixedVersion, f.release, f.status, f.comparator})
		}
		for _, k := range c.resolves {
			res[0], res[1] = append(res[0], c.digest), append(res[1], k.ecosystem)
			res[2] = append(res[2], k.pkg)
		}
	}
	if len(rows) > 0 {
		if _, err := tx.Exec(ctx, findingWrites); err != nil {
			return fmt.Errorf("create finding writes: %w", err)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"finding_writes"}, findingWritesCols,
			pgx.CopyFromRows(rows))
		if err != nil {
			return fmt.Errorf("copy findings: %w", err)
		}
		if _, err := tx.Exec(ctx, upsertFindings, id); err != nil {
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

// countOpen counts the open findings of each image in digests, with one
// index probe per image.
const countOpen = `
	SELECT f.image_digest, count(*)
	FROM unnest($1::text[]) AS d (digest)
	JOIN findings f ON f.image_digest = d.digest
	WHERE f.resolved_at IS NULL
	GROUP BY 1`

// envelopes returns the image.matched events of the changed images, with
// each image's count of open findings after the change and the tags that
// point at it, each read with one query for every image.
func (cs changes) envelopes(ctx context.Context, tx pgx.Tx, ev *crawlspacev1.NoticeParsed) (
	[]bus.Envelope, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	digests := make([]string, len(cs))
	for i, c := range cs {
		digests[i] = c.digest
	}
	open := map[string]int{}
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
	envs := make([]bus.Envelope, len(cs))
	for i, c := range cs {
		r := result{open: open[c.digest], added: c.added, resolved: c.resolved, changed: true}
		out := r.event(c.digest)
		out.Tags = tags[c.digest]
		envs[i] = bus.Envelope{
			Subject: crawlspacev1.SubjectImageMatched,
			MsgID:   "matched:" + c.digest + ":" + ev.GetId() + ":" + ev.GetContentHash(),
			Message: out,
		}
	}
	return envs, nil
}
