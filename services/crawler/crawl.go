package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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
)

// Crawl reads the image ref names without running it. ref is
// "docker://host/repo:tag", "docker://host/repo@sha256:...",
// "oci:/path/to/layout:tag", "docker-archive:/path.tar[:name:tag]", or a bare
// "host/repo:tag", which means docker://. A manifest list resolves to its
// linux/amd64 image. Errors that retrying cannot mend satisfy
// [IsPermanent].
func Crawl(ctx context.Context, ref string, opts CrawlOptions) (*Image, error) {
	plan := newPlan(opts)
	ctx, cancel := context.WithTimeoutCause(ctx, plan.limits.ImageTime,
		fmt.Errorf("%w: crawl took over %s", ErrLimit, plan.limits.ImageTime))
	defer cancel()
	img, err := crawl(ctx, ref, opts, plan)
	if err != nil && errors.Is(context.Cause(ctx), ErrLimit) {
		return nil, fmt.Errorf("crawl %s: %w", ref, context.Cause(ctx))
	}
	return img, err
}

// crawl is [Crawl] under its time limit.
func crawl(ctx context.Context, ref string, opts CrawlOptions, plan *scanPlan) (*Image, error) {
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
	if err := plan.extract(ctx, is, img, opts.Cache); err != nil {
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
		Config:       RedactConfig(cfg),
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
		return nil, "", nil, fmt.Errorf("%w: choose %s/%s: %w", ErrNotFound, sys.OSChoice,
			sys.ArchitectureChoice, err)
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

// extract reads every layer's features, from the cache when it has them
// and from the blob otherwise, and merges them into img.
func (p *scanPlan) extract(ctx context.Context, is types.ImageSource, img *Image,
	cache LayerCache) error {
	cached, err := p.cached(ctx, cache, img.Layers)
	if err != nil {
		return err
	}
	feats := make([]*features, len(img.Layers))
	var bytes int64
	files := 0
	for i, l := range img.Layers {
		f := cached[l.Digest]
		if f == nil {
			if f, err = p.readLayer(ctx, is, &img.Layers[i], bytes, files, cache); err != nil {
				return err
			}
			cached[l.Digest] = f
		} else {
			img.Layers[i].Cached = true
		}
		bytes += f.FS.Bytes
		files += len(f.FS.Entries)
		if bytes > p.limits.ImageBytes || files > p.limits.ImageFiles {
			return fmt.Errorf("%w: %d bytes in %d files after layer %d, limits %d and %d",
				ErrLimit, bytes, files, i, p.limits.ImageBytes, p.limits.ImageFiles)
		}
		feats[i] = f
	}
	p.merge(img, feats)
	return nil
}

// cached returns the features the cache holds for layers, by digest.
func (p *scanPlan) cached(ctx context.Context, cache LayerCache,
	layers []Layer) (map[string]*features, error) {
	out := make(map[string]*features, len(layers))
	if cache == nil {
		return out, nil
	}
	digests := make([]string, len(layers))
	for i, l := range layers {
		digests[i] = l.Digest
	}
	blobs, err := cache.GetLayers(ctx, p.key(), digests)
	if err != nil {
		return nil, err
	}
	for d, data := range blobs {
		// A cache entry that does not decode is read again from its blob.
		if f, err := decodeFeatures(data); err == nil {
			out[d] = f
		}
	}
	return out, nil
}

// readLayer streams one layer blob into its features while checking its
// digest, sets its size when the manifest had none, and adds it to the
// cache. A layer that does not read although its bytes match its digest is
// broken for good; a digest mismatch may be a bad transfer.
func (p *scanPlan) readLayer(ctx context.Context, is types.ImageSource, l *Layer,
	bytes int64, files int, cache LayerCache) (*features, error) {
	d, err := digest.Parse(l.Digest)
	if err != nil {
		return nil, fmt.Errorf("%w: layer digest %q: %w", ErrUnreadable, l.Digest, err)
	}
	rc, _, err := is.GetBlob(ctx, types.BlobInfo{Digest: d, Size: l.Size, MediaType: l.MediaType},
		none.NoCache)
	if err != nil {
		return nil, fmt.Errorf("fetch layer %s: %w", d, classify(err))
	}
	defer rc.Close()

	v := d.Verifier()
	counter := &countWriter{}
	body := io.TeeReader(rc, io.MultiWriter(v, counter))
	f, walkErr := p.scanLayer(ctx, body, p.limits.ImageBytes-bytes, p.limits.ImageFiles-files)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if errors.Is(walkErr, imagefs.ErrLimit) || errors.Is(walkErr, imagefs.ErrTooLarge) {
		return nil, fmt.Errorf("%w: layer %s: %w", ErrLimit, d, walkErr)
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return nil, fmt.Errorf("fetch layer %s: %w", d, err)
	}
	if !v.Verified() {
		return nil, fmt.Errorf("fetch layer %s: content does not match its digest", d)
	}
	if walkErr != nil {
		return nil, fmt.Errorf("%w: layer %s: %w", ErrUnreadable, d, walkErr)
	}
	if l.Size < 0 {
		l.Size = counter.n
	}
	if cache != nil {
		if err := p.store(ctx, cache, d.String(), f); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// store adds f to the cache.
func (p *scanPlan) store(ctx context.Context, cache LayerCache, d string, f *features) error {
	data, err := encodeFeatures(f)
	if err != nil {
		return err
	}
	return cache.PutLayer(ctx, p.key(), d, data)
}

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
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
