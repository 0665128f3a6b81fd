package crawler

import (
	"fmt"
	"slices"
	"strings"

	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/types"
)

// Transport prefixes a reference may carry.
const (
	prefixDocker  = "docker://"
	prefixOCI     = "oci:"
	prefixArchive = "docker-archive:"
)

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
	}
	return s, nil
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
	if platform == "" {
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
