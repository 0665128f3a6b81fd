package main

import (
	"context"
	"fmt"
	"time"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/platform/store"
)

// shared warms the layer cache at dsn with base, then crawls ref and
// returns how long that crawl took.
func shared(ctx context.Context, dsn, base, ref string) (time.Duration, error) {
	pool, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		return 0, err
	}
	opts := crawler.CrawlOptions{Cache: crawler.PGCache{Pool: pool}}
	if _, err := crawler.Crawl(ctx, base, opts); err != nil {
		return 0, err
	}
	start := time.Now()
	img, err := crawler.Crawl(ctx, ref, opts)
	if err != nil {
		return 0, err
	}
	d := time.Since(start)
	if !img.Layers[0].Cached {
		return 0, fmt.Errorf("the base layer of %s was read again", ref)
	}
	return d, nil
}
