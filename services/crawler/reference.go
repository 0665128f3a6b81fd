package crawler

import (
	"fmt"
	"slices"
	"strings"

	"go.podman.io/image/v5/directory"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	ociarchive "go.podman.io/image/v5/oci/archive"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/types"
)

// Transport prefixes a reference may carry.
const (
	prefixDocker  = "docker://"
	prefixOCI     = "oci:"
	prefixArchive = "docker-archive:"
	prefixOCIArc  = "oci-archive:"
	prefixDir     = "dir:"
)

// PlatformAll, as [CrawlOptions.Platform], asks [CrawlAll] for every
// platform of a manifest list.
const PlatformAll = "all"

// source is a parsed reference and the system context to read it with.
type source struct {
	ref types.ImageReference
	sys *types.SystemContext
	// registry, repository and tag are set for docker:// references; tag
	// is empty for a reference by digest.
	registry, repository, tag string
}

// parseReference parses ref in one of the forms [Crawl] accepts.
func parseReference(ref string, opts CrawlOptions) (*source, error) {
	var (
		ir  types.ImageReference
		err error
	)
	switch {
	case strings.HasPrefix(ref, prefixDocker):
		ir, err = docker.ParseReference(strings.TrimPrefix(ref, "docker:"))
	case strings.HasPrefix(ref, prefixOCI):
		ir, err = layout.ParseReference(strings.TrimPrefix(ref, prefixOCI))
	case strings.HasPrefix(ref, prefixArchive):
		ir, err = archive.ParseReference(strings.TrimPrefix(ref, prefixArchive))
	case strings.HasPrefix(ref, prefixOCIArc):
		ir, err = ociarchive.ParseReference(strings.TrimPrefix(ref, prefixOCIArc))
	case strings.HasPrefix(ref, prefixDir):
		ir, err = directory.Transport.ParseReference(strings.TrimPrefix(ref, prefixDir))
	default:
		ir, err = docker.ParseReference("//" + ref)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrInvalidReference, ref, err)
	}
	s := &source{ref: ir, sys: &types.SystemContext{
		OSChoice:                "linux",
		ArchitectureChoice:      "amd64",
		DockerRegistryUserAgent: "crawlspace",
	}}
	if err := s.setPlatform(opts.Platform); err != nil {
		return nil, err
	}
	if ir.Transport().Name() == docker.Transport.Name() {
		s.setRepository(ir.DockerReference(), opts.InsecureRegistries)
		if err := s.setCredentials(opts.AuthFiles); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// setCredentials takes the registry's credentials from the first of the
// auth files that has any. Without one the library's own search of the
// default locations applies. The files and credentials are never logged.
func (s *source) setCredentials(files []string) error {
	for _, f := range files {
		sys := &types.SystemContext{AuthFilePath: f}
		creds, err := config.GetCredentials(sys, s.registry)
		if err != nil {
			return fmt.Errorf("read credentials for %s: %w", s.registry, err)
		}
		if creds != (types.DockerAuthConfig{}) {
			s.sys.DockerAuthConfig = &creds
			return nil
		}
	}
	return nil
}

// setRepository records where a docker:// reference points and allows
// plain HTTP when its registry is one of the insecure ones.
func (s *source) setRepository(named reference.Named, insecure []string) {
	if named == nil {
		return
	}
	s.registry = reference.Domain(named)
	s.repository = reference.Path(named)
	if tagged, ok := named.(reference.NamedTagged); ok {
		s.tag = tagged.Tag()
	}
	if slices.Contains(insecure, s.registry) {
		s.sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
}

// setPlatform chooses the manifest list instance "os/arch[/variant]".
func (s *source) setPlatform(platform string) error {
	if platform == "" || platform == PlatformAll {
		return nil
	}
	parts := strings.Split(platform, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("%w: platform %q: want os/arch[/variant]", ErrInvalidReference,
			platform)
	}
	s.sys.OSChoice, s.sys.ArchitectureChoice = parts[0], parts[1]
	if len(parts) == 3 {
		s.sys.VariantChoice = parts[2]
	}
	return nil
}
