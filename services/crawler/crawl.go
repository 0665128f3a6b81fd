package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/distribution/registry/api/errcode"
	v2 "github.com/docker/distribution/registry/api/v2"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"go.podman.io/image/v5/types"

	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/crawler/osrelease"
	"crawlspace.dev/services/crawler/pkgdb/dpkg"
	"crawlspace.dev/services/crawler/shadow"
)

// Crawl reads the image ref names without running it. ref is
// "docker://host/repo:tag", "docker://host/repo@sha256:...",
// "oci:/path/to/layout:tag", "docker-archive:/path.tar[:name:tag]", or a bare
// "host/repo:tag", which means docker://. A manifest list resolves to its
// linux/amd64 image. Errors that retrying cannot mend satisfy
// [IsPermanent].
func Crawl(ctx context.Context, ref string, opts CrawlOptions) (*Image, error) {
	src, err := parseReference(ref, opts)
	if err != nil {
		return nil, err
	}
	is, err := src.ref.NewImageSource(ctx, src.sys)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ref, classify(err))
	}
	defer is.Close()

	img, err := readManifest(ctx, src, is)
	if err != nil {
		return nil, fmt.Errorf("crawl %s: %w", ref, err)
	}
	img.Ref = ref
	if opts.Known != nil {
		known, err := opts.Known(ctx, img.Digest)
		if err != nil {
			return nil, fmt.Errorf("crawl %s: %w", ref, err)
		}
		if known {
			return img, nil
		}
	}
	if err := extract(ctx, is, img); err != nil {
		return nil, fmt.Errorf("crawl %s: %w", ref, err)
	}
	return img, nil
}

// readManifest reads the image manifest (choosing from a list) and config.
func readManifest(ctx context.Context, src *source, is types.ImageSource) (*Image, error) {
	blob, mime, instance, err := chooseManifest(ctx, src.sys, is)
	if err != nil {
		return nil, err
	}
	d, err := manifest.Digest(blob)
	if err != nil {
		return nil, fmt.Errorf("%w: digest manifest: %w", ErrUnreadable, err)
	}
	ti, err := image.FromUnparsedImage(ctx, src.sys, image.UnparsedInstance(is, instance))
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", d, classify(err))
	}
	cfg, err := ti.ConfigBlob(ctx)
	if err != nil {
		return nil, fmt.Errorf("read config of %s: %w", d, classify(err))
	}
	oci, err := ti.OCIConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: parse config of %s: %w", ErrUnreadable, d, err)
	}
	img := &Image{
		Digest:       d.String(),
		ConfigDigest: ti.ConfigInfo().Digest.String(),
		MediaType:    mime,
		Architecture: oci.Architecture,
		Created:      oci.Created,
		Config:       cfg,
		Registry:     src.registry,
		Repository:   src.repository,
		Tag:          src.tag,
	}
	for _, l := range ti.LayerInfos() {
		img.Layers = append(img.Layers, Layer{
			Digest: l.Digest.String(), MediaType: l.MediaType, Size: l.Size,
		})
	}
	return img, nil
}

// chooseManifest fetches the manifest; for a manifest list it fetches the
// instance the system context's platform selects and returns its digest.
func chooseManifest(ctx context.Context, sys *types.SystemContext,
	is types.ImageSource) ([]byte, string, *digest.Digest, error) {
	blob, mime, err := is.GetManifest(ctx, nil)
	if err != nil {
		return nil, "", nil, fmt.Errorf("fetch manifest: %w", classify(err))
	}
	if mime == "" {
		mime = manifest.GuessMIMEType(blob)
	}
	if !manifest.MIMETypeIsMultiImage(mime) {
		return blob, mime, nil, nil
	}
	list, err := manifest.ListFromBlob(blob, mime)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%w: parse manifest list: %w", ErrUnreadable, err)
	}
	d, err := list.ChooseInstance(sys)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%w: choose linux/amd64: %w", ErrNotFound, err)
	}
	blob, mime, err = is.GetManifest(ctx, &d)
	if err != nil {
		return nil, "", nil, fmt.Errorf("fetch manifest %s: %w", d, classify(err))
	}
	if mime == "" {
		mime = manifest.GuessMIMEType(blob)
	}
	return blob, mime, &d, nil
}

// capture lists the files a crawl keeps and each one's size limit.
func capture() map[string]int64 {
	c := map[string]int64{PathDpkgStatus: MaxPackageDBSize}
	for _, p := range ConfigFilePaths {
		c[p] = MaxConfigFileSize
	}
	return c
}

// extract streams every layer into a merged view and reads its features.
func extract(ctx context.Context, is types.ImageSource, img *Image) error {
	fs := imagefs.New(imagefs.Options{Capture: capture()})
	for i, l := range img.Layers {
		size, err := readLayer(ctx, is, l, fs)
		if err != nil {
			return err
		}
		if l.Size < 0 {
			img.Layers[i].Size = size
		}
	}
	img.Extracted = true
	img.Files = fs.Files()
	img.ConfigFiles = configFiles(fs)
	img.OS = readOS(fs)
	pkgs, err := readPackages(fs)
	if err != nil {
		return err
	}
	img.Packages = pkgs
	return nil
}

// readLayer streams one layer blob into fs while checking its digest, and
// returns its size. A layer that does not read although its bytes match
// its digest is broken for good; a digest mismatch may be a bad transfer.
func readLayer(ctx context.Context, is types.ImageSource, l Layer,
	fs *imagefs.FS) (int64, error) {
	d, err := digest.Parse(l.Digest)
	if err != nil {
		return 0, fmt.Errorf("%w: layer digest %q: %w", ErrUnreadable, l.Digest, err)
	}
	rc, _, err := is.GetBlob(ctx, types.BlobInfo{Digest: d, Size: l.Size, MediaType: l.MediaType},
		none.NoCache)
	if err != nil {
		return 0, fmt.Errorf("fetch layer %s: %w", d, classify(err))
	}
	defer rc.Close()

	v := d.Verifier()
	counter := &countWriter{}
	body := io.TeeReader(rc, io.MultiWriter(v, counter))
	walkErr := fs.AddLayer(ctx, d.String(), body)
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return 0, fmt.Errorf("fetch layer %s: %w", d, err)
	}
	if !v.Verified() {
		return 0, fmt.Errorf("fetch layer %s: content does not match its digest", d)
	}
	if walkErr != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnreadable, walkErr)
	}
	return counter.n, nil
}

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// configFiles returns the captured configuration files, shadow redacted,
// as valid UTF-8 without NUL bytes so that they store as text.
func configFiles(fs *imagefs.FS) map[string]string {
	out := make(map[string]string)
	for _, p := range ConfigFilePaths {
		data, ok := fs.Content(p)
		if !ok {
			continue
		}
		s := textOf(data)
		if p == PathShadow {
			s = shadow.Redact(s)
		}
		out[p] = s
	}
	return out
}

// textOf turns file content into storable text.
func textOf(data []byte) string {
	s := strings.ToValidUTF8(string(data), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// readOS parses /etc/os-release, or /usr/lib/os-release without it.
func readOS(fs *imagefs.FS) osrelease.OS {
	for _, p := range []string{PathOSRelease, PathUsrOSRelease} {
		if data, ok := fs.Content(p); ok {
			return osrelease.Parse(string(data))
		}
	}
	return osrelease.OS{}
}

// readPackages parses the dpkg status database, if the image has one.
func readPackages(fs *imagefs.FS) ([]Package, error) {
	data, ok := fs.Content(PathDpkgStatus)
	if !ok {
		return nil, nil
	}
	st, err := fs.Stat(PathDpkgStatus)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", PathDpkgStatus, err)
	}
	pkgs, err := dpkg.Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	out := make([]Package, 0, len(pkgs))
	for _, p := range pkgs {
		out = append(out, Package{
			Ecosystem:     EcosystemDpkg,
			Name:          p.Name,
			Version:       p.Version,
			Arch:          p.Arch,
			SourceName:    p.SourceName,
			SourceVersion: p.SourceVersion,
			Layer:         st.Layer,
		})
	}
	return out, nil
}

// classify marks registry and store answers that retrying cannot change.
func classify(err error) error {
	if notFound(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// notFound reports whether err says the image does not exist or is denied
// to us, as opposed to a network or server failure.
func notFound(err error) bool {
	var ec errcode.ErrorCoder
	if errors.As(err, &ec) {
		switch ec.ErrorCode() {
		case v2.ErrorCodeManifestUnknown, v2.ErrorCodeNameUnknown, v2.ErrorCodeBlobUnknown,
			v2.ErrorCodeNameInvalid, v2.ErrorCodeTagInvalid, errcode.ErrorCodeDenied,
			errcode.ErrorCodeUnauthorized:
			return true
		}
	}
	var unauthorized docker.ErrUnauthorizedForCredentials
	var missing layout.ImageNotFoundError
	return errors.As(err, &unauthorized) || errors.As(err, &missing) ||
		errors.Is(err, os.ErrNotExist)
}
