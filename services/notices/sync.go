package notices

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"crawlspace.dev/services/notices/announce"
	"crawlspace.dev/services/platform/redact"
)

// syncLocation reads one location of source into w and writes it out: a
// URL, fetched conditionally, with its cursor stored after its last batch;
// a file; or a directory, each of whose files f matches is read. A feed
// document and a list archive's index page differ only in how they are
// read, which readDocument decides.
func (s *Stage) syncLocation(ctx context.Context, source string, f format, location string,
	w *writer) error {
	if redact.IsURL(location) {
		return s.syncURL(ctx, source, f, location, w)
	}
	info, err := os.Stat(location)
	if err != nil {
		return fmt.Errorf("open notice feed: %w", err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(location)
		if err != nil {
			return fmt.Errorf("open notice feed: %w", err)
		}
		if err := s.readDocument(ctx, f, data, location, false, true, w); err != nil {
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
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read notice file: %w", err)
		}
		return s.readDocument(ctx, f, data, path, false, false, w)
	})
	if err != nil {
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
	if err := s.readDocument(ctx, f, got.body, location, true, true, w); err != nil {
		return err
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	return writeCursor(ctx, s.pool, source, key, got.v)
}

// readDocument queues what one document read from location holds: a feed
// document's notices, or, for a list archive, the notices of the messages
// its index page links to, fetched when remote and read from beside it
// otherwise. single is as for [Stage.document].
func (s *Stage) readDocument(ctx context.Context, f format, data []byte, location string,
	remote, single bool, w *writer) error {
	if f.archive == nil {
		return s.document(ctx, f, data, redact.URL(location), w, single)
	}
	var g announce.Getter = fileGetter{}
	if remote {
		g = pageGetter{s.fetch}
	}
	feed, err := f.archive.Read(ctx, g, data, location)
	if err != nil {
		return err
	}
	return w.add(ctx, feed)
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
