package crawler

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"

	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/crawler/pkgdb/apk"
	"crawlspace.dev/services/crawler/pkgdb/dpkg"
	"crawlspace.dev/services/crawler/pkgdb/rpm"
	"crawlspace.dev/services/platform/distro"
)

// featuresVersion changes whenever what a layer scan records changes, so
// that cached features from an older crawler are not reused.
const featuresVersion = "4"

// features is what one layer contributes to an image, independent of the
// layers around it: what [imagefs.Scan] read (entries, whiteouts and the
// captured files' content) and the packages of the package databases and
// language package files it holds, each with its Path. Package databases
// are parsed here and their content dropped, so that a cached layer never
// needs its blob again.
type features struct {
	FS       *imagefs.Layer `json:"fs"`
	Packages []Package      `json:"pkgs,omitempty"`
}

// Package database paths, and the ecosystem of each.
var packageDBs = map[string]string{
	PathDpkgStatus:                       distro.Dpkg,
	"/lib/apk/db/installed":              distro.APK,
	"/usr/lib/apk/db/installed":          distro.APK,
	"/var/lib/rpm/Packages":              distro.RPM,
	"/var/lib/rpm/Packages.db":           distro.RPM,
	"/var/lib/rpm/rpmdb.sqlite":          distro.RPM,
	"/usr/lib/sysimage/rpm/Packages":     distro.RPM,
	"/usr/lib/sysimage/rpm/Packages.db":  distro.RPM,
	"/usr/lib/sysimage/rpm/rpmdb.sqlite": distro.RPM,
}

// pathStatusD holds distroless images' per-package dpkg files.
const pathStatusD = "/var/lib/dpkg/status.d/*"

// releaseFiles are read for the OS besides os-release.
var releaseFiles = []string{
	"/etc/debian_version", "/etc/alpine-release", "/etc/redhat-release",
	"/etc/centos-release",
}

// scanPlan is what a layer scan captures and visits, from the options.
type scanPlan struct {
	limits   Limits
	configs  []string
	tempDir  string
	capture  map[string]int64
	patterns []imagefs.Pattern
	progress func(Progress)
}

// newPlan derives the scan plan of opts.
func newPlan(opts CrawlOptions) *scanPlan {
	p := &scanPlan{limits: opts.Limits.withDefaults(), configs: opts.ConfigPaths,
		tempDir: opts.TempDir, capture: map[string]int64{}, progress: opts.Progress}
	if len(p.configs) == 0 {
		p.configs = ConfigFilePaths
	}
	for _, c := range append(append([]string{PathOSRelease, PathUsrOSRelease},
		releaseFiles...), p.configs...) {
		if isPattern(c) {
			p.patterns = append(p.patterns, imagefs.Pattern{Glob: c,
				Limit: p.limits.ConfigFileSize})
			continue
		}
		p.capture[c] = p.limits.ConfigFileSize
	}
	for db := range packageDBs {
		p.capture[db] = p.limits.PackageDBSize
	}
	p.patterns = append(p.patterns, imagefs.Pattern{Glob: pathStatusD,
		Limit: p.limits.PackageDBSize})
	return p
}

// isPattern reports whether a config path names a directory's files.
func isPattern(p string) bool { return strings.ContainsAny(p, "*?[") }

// key identifies what a scan under p records, so that the layer cache
// keeps features scanned under other options apart.
func (p *scanPlan) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d %d %d\n", p.limits.ConfigFileSize, p.limits.PackageDBSize,
		p.limits.BinarySize)
	for _, c := range p.configs {
		fmt.Fprintln(h, c)
	}
	return "v" + featuresVersion + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// scanLayer reads one layer blob into its features. maxBytes and maxFiles
// are what the image's budget has left.
func (p *scanPlan) scanLayer(ctx context.Context, blob io.Reader, maxBytes int64,
	maxFiles int) (*features, error) {
	lang := &langVisitor{limits: p.limits}
	l, err := imagefs.Scan(ctx, blob, imagefs.Options{
		Capture: p.capture, CapturePatterns: p.patterns, Visit: lang.visit,
		MaxBytes: maxBytes, MaxFiles: maxFiles,
	})
	if err != nil {
		return nil, err
	}
	f := &features{FS: l, Packages: lang.pkgs}
	if err := p.parseDBs(f); err != nil {
		return nil, err
	}
	return f, nil
}

// parseDBs parses the package databases a layer holds into f.Packages and
// drops their content.
func (p *scanPlan) parseDBs(f *features) error {
	for i := range f.FS.Entries {
		e := &f.FS.Entries[i]
		if !e.Captured {
			continue
		}
		eco, ok := packageDBs[e.Path]
		statusD := false
		if !ok {
			statusD, _ = path.Match(pathStatusD, e.Path)
			eco = distro.Dpkg
		}
		if !ok && !statusD {
			continue
		}
		pkgs, err := p.parseDB(eco, statusD, e)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrUnreadable, e.Path, err)
		}
		f.Packages = append(f.Packages, pkgs...)
		e.Content, e.Captured = nil, false
	}
	return nil
}

// parseDB parses one package database file.
func (p *scanPlan) parseDB(eco string, statusD bool, e *imagefs.Entry) ([]Package, error) {
	var out []Package
	switch {
	case statusD && strings.HasSuffix(e.Path, ".md5sums"):
		return nil, nil
	case eco == distro.Dpkg:
		parse := dpkg.Parse
		if statusD {
			parse = dpkg.ParseStatusD
		}
		pkgs, err := parse(string(e.Content))
		if err != nil {
			return nil, err
		}
		for _, d := range pkgs {
			out = append(out, Package{Ecosystem: distro.Dpkg, Name: d.Name, Version: d.Version,
				Arch: d.Arch, SourceName: d.SourceName, SourceVersion: d.SourceVersion,
				Path: e.Path})
		}
	case eco == distro.APK:
		pkgs, err := apk.Parse(string(e.Content))
		if err != nil {
			return nil, err
		}
		for _, a := range pkgs {
			out = append(out, Package{Ecosystem: distro.APK, Name: a.Name, Version: a.Version,
				Arch: a.Arch, SourceName: a.Origin, SourceVersion: a.Version, Path: e.Path})
		}
	case eco == distro.RPM:
		pkgs, err := rpm.Parse(e.Content, p.tempDir)
		if err != nil {
			return nil, err
		}
		for _, r := range pkgs {
			out = append(out, Package{Ecosystem: distro.RPM, Name: r.Name, Version: r.Version,
				Arch: r.Arch, SourceName: r.SourceName, SourceVersion: r.SourceVersion,
				Path: e.Path})
		}
	}
	return out, nil
}

// encodeFeatures serializes f for the layer cache: zstd-compressed JSON,
// as json.Marshal writes it. The JSON is written one entry at a time into
// the compressor, so that a layer of millions of entries never holds its
// JSON whole.
func encodeFeatures(f *features) ([]byte, error) {
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("encode layer features: %w", err)
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	err = writeFeatures(bw, f)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		zw.Close()
		return nil, fmt.Errorf("encode layer features: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode layer features: %w", err)
	}
	return out.Bytes(), nil
}

// writeFeatures writes f to w as json.Marshal would, one entry at a time.
func writeFeatures(w io.Writer, f *features) error {
	jw := &jsonWriter{w: w}
	jw.enc = json.NewEncoder(&jw.buf)
	jw.raw(`{"fs":`)
	if f.FS == nil {
		jw.raw("null")
	} else {
		jw.layer(f.FS)
	}
	if len(f.Packages) > 0 {
		jw.raw(`,"pkgs":`)
		jw.value(f.Packages)
	}
	jw.raw("}")
	return jw.err
}

// jsonWriter writes JSON values to w, keeping the first error.
type jsonWriter struct {
	w   io.Writer
	enc *json.Encoder
	buf bytes.Buffer
	err error
}

// layer writes l as json.Marshal would.
func (jw *jsonWriter) layer(l *imagefs.Layer) {
	jw.raw(`{"e":`)
	if l.Entries == nil {
		jw.raw("null")
	} else {
		jw.raw("[")
		for i := range l.Entries {
			if i > 0 {
				jw.raw(",")
			}
			jw.value(&l.Entries[i])
		}
		jw.raw("]")
	}
	if len(l.Whiteouts) > 0 {
		jw.raw(`,"w":`)
		jw.value(l.Whiteouts)
	}
	jw.raw(`,"b":` + strconv.FormatInt(l.Bytes, 10) + "}")
}

// value writes v in JSON.
func (jw *jsonWriter) value(v any) {
	if jw.err != nil {
		return
	}
	jw.buf.Reset()
	if jw.err = jw.enc.Encode(v); jw.err != nil {
		return
	}
	// Encode ends the value with a newline, which Marshal does not.
	_, jw.err = jw.w.Write(bytes.TrimSuffix(jw.buf.Bytes(), []byte("\n")))
}

// raw writes s as it is.
func (jw *jsonWriter) raw(s string) {
	if jw.err == nil {
		_, jw.err = io.WriteString(jw.w, s)
	}
}

// maxFeaturesSize bounds a decoded features value read from the cache.
const maxFeaturesSize = 1 << 30

// decodeFeatures reverses [encodeFeatures]. It reads the entries one at a
// time, so that a layer of millions of them needs no copy of its JSON.
func decodeFeatures(data []byte) (*features, error) {
	zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxFeaturesSize))
	if err != nil {
		return nil, fmt.Errorf("decode layer features: %w", err)
	}
	defer zr.Close()
	var f features
	dec := json.NewDecoder(zr)
	err = readObject(dec, func(key string) error {
		switch key {
		case "fs":
			return readLayer(dec, &f.FS)
		case "pkgs":
			return dec.Decode(&f.Packages)
		default:
			return skipValue(dec)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("decode layer features: %w", err)
	}
	if f.FS == nil {
		return nil, fmt.Errorf("decode layer features: no file entries")
	}
	return &f, nil
}

// readLayer decodes an [imagefs.Layer] or null into *lp.
func readLayer(dec *json.Decoder, lp **imagefs.Layer) error {
	l := &imagefs.Layer{}
	null := true
	err := readObjectOrNull(dec, &null, func(key string) error {
		switch key {
		case "e":
			return readEntries(dec, &l.Entries)
		case "w":
			return dec.Decode(&l.Whiteouts)
		case "b":
			return dec.Decode(&l.Bytes)
		default:
			return skipValue(dec)
		}
	})
	if err != nil {
		return err
	}
	if !null {
		*lp = l
	}
	return nil
}

// readEntries decodes an array of entries, or null, into *out.
func readEntries(dec *json.Decoder, out *[]imagefs.Entry) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*out = nil
		return nil
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("entries: got %v, want an array", tok)
	}
	var c imagefs.Collector
	for dec.More() {
		var e imagefs.Entry
		if err := dec.Decode(&e); err != nil {
			return err
		}
		c.Add(e)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if *out = c.Entries(); *out == nil {
		*out = []imagefs.Entry{}
	}
	return nil
}

// readObject reads a JSON object, calling field for each key with the
// decoder at its value, which field must consume.
func readObject(dec *json.Decoder, field func(key string) error) error {
	null := false
	if err := readObjectOrNull(dec, &null, field); err != nil {
		return err
	}
	if null {
		return fmt.Errorf("got null, want an object")
	}
	return nil
}

// readObjectOrNull is [readObject] that also takes null, reporting it in
// *null.
func readObjectOrNull(dec *json.Decoder, null *bool, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if *null = tok == nil; *null {
		return nil
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("got %v, want an object", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("got key %v", tok)
		}
		if err := field(key); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	_, err = dec.Token()
	return err
}

// skipValue reads and drops one JSON value.
func skipValue(dec *json.Decoder) error {
	var v json.RawMessage
	return dec.Decode(&v)
}

// packageKey identifies a package version for layer attribution.
func packageKey(p Package) string {
	return strings.Join([]string{p.Ecosystem, p.Name, p.Arch, p.Version}, "\x00")
}
