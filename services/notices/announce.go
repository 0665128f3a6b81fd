package notices

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"crawlspace.dev/services/platform/redact"

	"crawlspace.dev/services/notices/announce"
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

// syncArchive reads a list archive through its index page: a URL, fetched
// conditionally with its cursor stored after the last batch; a saved
// index page; or a directory, each of whose index pages (f.match) is read.
func (s *Stage) syncArchive(ctx context.Context, source string, f format, location string,
	w *writer) error {
	if redact.IsURL(location) {
		return s.syncArchiveURL(ctx, source, f, location, w)
	}
	info, err := os.Stat(location)
	if err != nil {
		return fmt.Errorf("open notice archive: %w", err)
	}
	if !info.IsDir() {
		if err := s.readArchive(ctx, f, fileGetter{}, nil, location, w); err != nil {
			return err
		}
		return w.flush(ctx)
	}
	err = filepath.WalkDir(location, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read notice directory: %w", err)
		}
		if d.IsDir() || !f.match(path) {
			return nil
		}
		return s.readArchive(ctx, f, fileGetter{}, nil, path, w)
	})
	if err != nil {
		return err
	}
	return w.flush(ctx)
}

func (s *Stage) syncArchiveURL(ctx context.Context, source string, f format, location string,
	w *writer) error {
	key := redact.URL(location)
	prev, err := readCursor(ctx, s.pool, source, key)
	if err != nil {
		return err
	}
	got, err := s.fetch.get(ctx, location, prev)
	if err != nil {
		return err
	}
	if got.notModified {
		w.res.NotModified++
		return nil
	}
	if err := s.readArchive(ctx, f, pageGetter{s.fetch}, got.body, location, w); err != nil {
		return err
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	return writeCursor(ctx, s.pool, source, key, got.v)
}

// readArchive reads one index page (index, or the file at location when
// index is nil) and its messages into w.
func (s *Stage) readArchive(ctx context.Context, f format, g announce.Getter, index []byte,
	location string, w *writer) error {
	if index == nil {
		var err error
		if index, err = g.Get(ctx, location); err != nil {
			return fmt.Errorf("read notice archive index: %w", err)
		}
	}
	feed, err := f.archive.Read(ctx, g, index, location)
	if err != nil {
		return err
	}
	return w.add(ctx, feed)
}
