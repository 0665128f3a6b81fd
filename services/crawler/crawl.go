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
// "oci:/path/to/layout:tag", "oci-archive:/path.tar[:tag]",
// "docker-archive:/path.tar[:name:tag]", "dir:/path", or a bare
// "host/repo:tag", which means docker://. A manifest list resolves to the
// platform opts name, linux/amd64 by default. Errors that retrying cannot
// mend satisfy [IsPermanent].
func Crawl(ctx context.Context, ref string, opts CrawlOptions) (*Image, error) {
	imgs, err := crawlRef(ctx, ref, opts, false)
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// CrawlAll is [Crawl], except that when opts.Platform is [PlatformAll] a
// manifest list yields one image per platform, each with its own digest
// and each under its own time limit. It returns at least one image unless
// it fails.
func CrawlAll(ctx context.Context, ref string, opts CrawlOptions) ([]*Image, error) {
	return crawlRef(ctx, ref, opts, opts.Platform == PlatformAll)
}

// crawlRef opens ref once and crawls its chosen instance, or every
// instance of a manifest list when all is set.
func crawlRef(ctx context.Context, ref string, opts CrawlOptions, all bool) ([]*Image, error) {
	plan := newPlan(opts)
	src, err := parseReference(ref, opts)
	if err != nil {
		return nil, err
	}
	octx, cancel := plan.timeLimit(ctx)
	defer cancel()
	is, err := src.ref.NewImageSource(octx, src.sys)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ref, plan.cause(octx, classify(err)))
	}
	defer is.Close()

	instances := []*digest.Digest{nil}
	if all {
		if instances, err = listInstances(octx, is); err != nil {
			return nil, fmt.Errorf("crawl %s: %w", ref, plan.cause(octx, err))
		}
	}
	out := make([]*Image, 0, len(instances))
	for _, inst := range instances {
		img, err := plan.crawlInstance(ctx, ref, src, is, inst, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// timeLimit bounds ctx by the crawl's time limit.
func (p *scanPlan) timeLimit(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, p.limits.ImageTime,
		fmt.Errorf("%w: crawl took over %s", ErrLimit, p.limits.ImageTime))
}

// cause returns the time limit's error in place of err once ctx has run
// out of time, and err otherwise.
func (p *scanPlan) cause(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), ErrLimit) {
		return context.Cause(ctx)
	}
	return err
}

// crawlInstance crawls one image of an open source under its own time
// limit: inst, or the platform the system context chooses when inst is nil.
func (p *scanPlan) crawlInstance(ctx context.Context, ref string, src *source,
	is types.ImageSource, inst *digest.Digest, opts CrawlOptions) (*Image, error) {
	ctx, cancel := p.timeLimit(ctx)
	defer cancel()
	img, err := p.crawlOne(ctx, src, is, inst, opts)
	if err != nil {
		return nil, fmt.Errorf("crawl %s: %w", ref, p.cause(ctx, err))
	}
	img.Ref = ref
	return img, nil
}

// crawlOne reads one image's manifest and config and, unless
// [CrawlOptions.Known] says it is stored, its layers.
func (p *scanPlan) crawlOne(ctx context.Context, src *source, is types.ImageSource,
	inst *digest.Digest, opts CrawlOptions) (*Image, error) {
	img, err := readManifest(ctx, src, is, inst)
	if err != nil {
		return nil, err
	}
	if opts.Known != nil {
		known, err := opts.Known(ctx, img.Digest)
		if err != nil {
			return nil, err
		}
		if known {
			return img, nil
		}
	}
	if err := p.extract(ctx, is, img, opts.Cache); err != nil {
		return nil, err
	}
	return img, nil
}

// listInstances returns the image instances of the source's manifest
// list, leaving out entries that are not images of a platform (such as
// attestation manifests, "unknown/unknown"); a plain manifest is one nil
// instance.
func listInstances(ctx context.Context, is types.ImageSource) ([]*digest.Digest, error) {
	blob, mime, err := is.GetManifest(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch manifest: %w", classify(err))
	}
	if mime == "" {
		mime = manifest.GuessMIMEType(blob)
	}
	if !manifest.MIMETypeIsMultiImage(mime) {
		return []*digest.Digest{nil}, nil
	}
	list, err := manifest.ListFromBlob(blob, mime)
	if err != nil {
		return nil, fmt.Errorf("%w: parse manifest list: %w", ErrUnreadable, err)
	}
	var out []*digest.Digest
	for _, d := range list.Instances() {
		u, err := list.Instance(d)
		if err != nil {
			return nil, fmt.Errorf("%w: manifest list entry %s: %w", ErrUnreadable, d, err)
		}
		if pl := u.ReadOnly.Platform; pl != nil && pl.OS == "unknown" {
			continue
		}
		out = append(out, &d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: manifest list has no platform images", ErrNotFound)
	}
	return out, nil
}

// readManifest reads the image manifest (choosing from a list) and config.
func readManifest(ctx context.Context, src *source, is types.ImageSource,
	inst *digest.Digest) (*Image, error) {
	blob, mime, instance, err := chooseManifest(ctx, src.sys, is, inst)
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
		Platform:     platformOf(oci.OS, oci.Architecture, oci.Variant),
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
// A non-nil inst is fetched directly.
func chooseManifest(ctx context.Context, sys *types.SystemContext, is types.ImageSource,
	inst *digest.Digest) ([]byte, string, *digest.Digest, error) {
	if inst != nil {
		blob, mime, err := is.GetManifest(ctx, inst)
		if err != nil {
			return nil, "", nil, fmt.Errorf("fetch manifest %s: %w", inst, classify(err))
		}
		if mime == "" {
			mime = manifest.GuessMIMEType(blob)
		}
		return blob, mime, inst, nil
	}
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
			if f, err = p.readLayer(ctx, is, img.Layers, i, bytes, files, cache); err != nil {
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
func (p *scanPlan) readLayer(ctx context.Context, is types.ImageSource, layers []Layer, i int,
	bytes int64, files int, cache LayerCache) (*features, error) {
	l := &layers[i]
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
	var blob io.Reader = rc
	if p.progress != nil {
		at := Progress{Layer: i + 1, Layers: len(layers), Digest: l.Digest, Size: l.Size}
		blob = &progressReader{r: rc, at: at, report: p.progress}
	}

	v := d.Verifier()
	counter := &countWriter{}
	body := newHashingReader(blob, io.MultiWriter(v, counter))
	defer body.Close()
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
	body.Close()
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

// progressReader reports each read of a layer blob to a [Progress] callback.
type progressReader struct {
	r      io.Reader
	at     Progress
	report func(Progress)
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if n > 0 {
		r.at.Read += int64(n)
		r.report(r.at)
	}
	return n, err
}

// platformOf names an image config's platform: os/architecture, and the
// variant when there is one. A config without an os is taken as linux.
func platformOf(os, arch, variant string) string {
	if os == "" {
		os = "linux"
	}
	p := os + "/" + arch
	if variant != "" {
		p += "/" + variant
	}
	return p
}
