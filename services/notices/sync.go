package notices

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"crawlspace.dev/services/platform/redact"
)

// syncLocation reads one location of source into w and writes it out; a
// URL's cursor is stored after its last batch.
func (s *Stage) syncLocation(ctx context.Context, source string, f format, location string,
	w *writer) error {
	if f.archive != nil {
		return s.syncArchive(ctx, source, f, location, w)
	}
	if redact.IsURL(location) {
		return s.syncURL(ctx, source, f, location, w)
	}
	info, err := os.Stat(location)
	if err != nil {
		return fmt.Errorf("open notice feed: %w", err)
	}
	if info.IsDir() {
		if err := s.syncDir(ctx, f, location, w); err != nil {
			return err
		}
		return w.flush(ctx)
	}
	data, err := os.ReadFile(location)
	if err != nil {
		return fmt.Errorf("open notice feed: %w", err)
	}
	if err := s.document(ctx, f, data, location, w, true); err != nil {
		return err
	}
	return w.flush(ctx)
}

// syncURL fetches location conditionally and stores what changed.
func (s *Stage) syncURL(ctx context.Context, source string, f format, location string,
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
	if err := s.document(ctx, f, got.body, key, w, true); err != nil {
		return err
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	return writeCursor(ctx, s.pool, source, key, got.v)
}

// syncDir reads every file under dir that is one of f's documents.
// Documents that cannot be parsed are logged and counted as malformed.
func (s *Stage) syncDir(ctx context.Context, f format, dir string, w *writer) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read notice directory: %w", err)
		}
		if d.IsDir() || !f.match(path) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read notice file: %w", err)
		}
		return s.document(ctx, f, data, path, w, false)
	})
}

// document parses one document, or each matching member of a zip archive
// (OSV's all.zip), and queues its notices. A document that cannot be
// parsed is an error when it is the whole location (single), and is
// logged and counted as malformed when it is one of many.
func (s *Stage) document(ctx context.Context, f format, data []byte, name string,
	w *writer, single bool) error {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return s.archive(ctx, f, data, name, w)
	}
	feed, err := f.parse(data, name)
	if err != nil {
		if single {
			return err
		}
		s.log.WarnContext(ctx, "malformed notice document skipped", "file", name, "err", err)
		w.res.Malformed++
		return nil
	}
	return w.add(ctx, feed)
}

// archive parses each member of a zip archive that f matches.
func (s *Stage) archive(ctx context.Context, f format, data []byte, name string,
	w *writer) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("open archive %s: %w", name, err)
	}
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() || !f.match(zf.Name) {
			continue
		}
		member, err := readMember(zf)
		if err != nil {
			return fmt.Errorf("read %s in %s: %w", zf.Name, name, err)
		}
		if err := s.document(ctx, f, member, name+"!"+zf.Name, w, false); err != nil {
			return err
		}
	}
	return nil
}

func readMember(zf *zip.File) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
