package notices

import (
	"context"
	"os"
)

// pageGetter fetches archive message pages over HTTP with the stage's
// retries and rate limits. Archive messages do not change, so it sends no
// validators; the index page's cursor decides whether they are read.
//
// TODO(crawlspace): remember which message pages were read, so that a
// changed index fetches only its new messages rather than all of them.
type pageGetter struct{ f *fetcher }

func (g pageGetter) Get(ctx context.Context, location string) ([]byte, error) {
	got, err := g.f.get(ctx, location, validators{})
	return got.body, err
}

// fileGetter reads archive pages saved under a --from directory.
type fileGetter struct{}

func (fileGetter) Get(_ context.Context, path string) ([]byte, error) {
	return os.ReadFile(path)
}
