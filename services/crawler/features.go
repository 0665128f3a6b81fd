package crawler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
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

// encodeFeatures serializes f for the layer cache: zstd-compressed JSON.
func encodeFeatures(f *features) ([]byte, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode layer features: %w", err)
	}
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("encode layer features: %w", err)
	}
	defer zw.Close()
	return zw.EncodeAll(data, nil), nil
}

// maxFeaturesSize bounds a decoded features value read from the cache.
const maxFeaturesSize = 1 << 30

// decodeFeatures reverses [encodeFeatures].
func decodeFeatures(data []byte) (*features, error) {
	zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxFeaturesSize))
	if err != nil {
		return nil, fmt.Errorf("decode layer features: %w", err)
	}
	defer zr.Close()
	var f features
	if err := json.NewDecoder(zr).Decode(&f); err != nil {
		return nil, fmt.Errorf("decode layer features: %w", err)
	}
	if f.FS == nil {
		return nil, fmt.Errorf("decode layer features: no file entries")
	}
	return &f, nil
}

// packageKey identifies a package version for layer attribution.
func packageKey(p Package) string {
	return strings.Join([]string{p.Ecosystem, p.Name, p.Arch, p.Version}, "\x00")
}
