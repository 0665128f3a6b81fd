package crawler

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// LayerCache keeps layers' features by layer digest, so that a layer is
// read once however many images share it. key names what the features
// were scanned for (the crawler version and the options that change what
// a scan records); entries under another key are not used. It must be safe
// for concurrent use, and storing one (key, digest) twice must keep a
// valid entry.
type LayerCache interface {
	// GetLayers returns the stored features of those of digests it has,
	// by digest.
	GetLayers(ctx context.Context, key string, digests []string) (map[string][]byte, error)
	// PutLayer stores the features of the layer digest.
	PutLayer(ctx context.Context, key, digest string, features []byte) error
}

// PGCache is a [LayerCache] in PostgreSQL's layer_features table, shared
// by every crawler replica and kept across restarts.
type PGCache struct {
	Pool *pgxpool.Pool
}

// GetLayers implements [LayerCache].
func (c PGCache) GetLayers(ctx context.Context, key string,
	digests []string) (map[string][]byte, error) {
	rows, err := c.Pool.Query(ctx, `
		SELECT digest, features FROM layer_features
		WHERE extractor = $1 AND digest = ANY($2)`, key, digests)
	if err != nil {
		return nil, fmt.Errorf("read layer cache: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]byte)
	for rows.Next() {
		var d string
		var data []byte
		if err := rows.Scan(&d, &data); err != nil {
			return nil, fmt.Errorf("read layer cache: %w", err)
		}
		out[d] = data
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read layer cache: %w", err)
	}
	return out, nil
}

// PutLayer implements [LayerCache]. Replicas racing on one layer each
// insert the same features; the first one's row stays.
func (c PGCache) PutLayer(ctx context.Context, key, digest string, features []byte) error {
	_, err := c.Pool.Exec(ctx, `
		INSERT INTO layer_features (digest, extractor, features, size, created_at)
		VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (digest, extractor) DO NOTHING`, digest, key, features, len(features))
	if err != nil {
		return fmt.Errorf("write layer cache %s: %w", digest, err)
	}
	return nil
}
