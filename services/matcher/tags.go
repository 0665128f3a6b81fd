package matcher

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// tagsQuery lists, for each digest, the full references whose tag points
// at it now: a tag observation of the digest that no later observation of
// the same repository, tag and platform follows.
const tagsQuery = `
	SELECT o.digest, r.registry || '/' || r.name || ':' || o.tag
	FROM unnest($1::text[]) AS d (digest)
	JOIN tag_observations o ON o.digest = d.digest
	JOIN repositories r ON r.id = o.repository_id
	WHERE NOT EXISTS (
		SELECT 1 FROM tag_observations n
		WHERE n.repository_id = o.repository_id AND n.tag = o.tag
		  AND n.platform = o.platform AND n.first_seen > o.first_seen)
	ORDER BY 1, 2`

// queueTags queues tagsQuery for digests on b; once the batch is read,
// *out holds each digest's references, sorted.
func queueTags(b *pgx.Batch, digests []string, out *map[string][]string) {
	*out = map[string][]string{}
	b.Queue(tagsQuery, digests).Query(func(rows pgx.Rows) error {
		var d, ref string
		_, err := pgx.ForEachRow(rows, []any{&d, &ref}, func() error {
			(*out)[d] = append((*out)[d], ref)
			return nil
		})
		return err
	})
}

// readTags returns the references whose tag points at each digest now.
func readTags(ctx context.Context, q pgx.Tx, digests []string) (map[string][]string, error) {
	var tags map[string][]string
	b := &pgx.Batch{}
	queueTags(b, digests, &tags)
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	return tags, nil
}
