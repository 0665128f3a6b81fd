// Package crawler is the pipeline's crawler stage. [Crawl] reads one image
// without running it: it resolves the reference to a manifest digest, reads
// the config, streams every layer once to build the merged file view, and
// extracts the OS release, the installed packages and a few configuration
// files. [Stage] consumes image.named, stores what Crawl found in
// PostgreSQL and publishes image.crawled.
package crawler

import (
	"context"
	"time"

	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/crawler/osrelease"
)

// Limits on captured content, in bytes.
const (
	// MaxConfigFileSize bounds each captured configuration file.
	MaxConfigFileSize = 1 << 20
	// MaxPackageDBSize bounds the dpkg status database.
	MaxPackageDBSize = 64 << 20
)

// Paths of the files a crawl captures.
const (
	PathOSRelease    = "/etc/os-release"
	PathUsrOSRelease = "/usr/lib/os-release"
	PathDpkgStatus   = "/var/lib/dpkg/status"
	PathSSHDConfig   = "/etc/ssh/sshd_config"
	PathPasswd       = "/etc/passwd"
	PathShadow       = "/etc/shadow"
)

// ConfigFilePaths are the files kept in [Image.ConfigFiles] when present.
var ConfigFilePaths = []string{
	PathOSRelease, PathUsrOSRelease, PathSSHDConfig, PathPasswd, PathShadow,
}

// EcosystemDpkg is the ecosystem of packages from dpkg's status database.
const EcosystemDpkg = "dpkg"

// CrawlOptions tunes [Crawl]. The zero value crawls over TLS only.
type CrawlOptions struct {
	// InsecureRegistries lists registries (host or host:port, as in the
	// reference) that may be reached over plain HTTP or unverified TLS.
	InsecureRegistries []string
	// Known, when set, is asked once the manifest digest is known whether
	// that image is already stored. When it says so, Crawl returns the
	// manifest and config without reading any layer, and the result's
	// Extracted is false.
	Known func(ctx context.Context, digest string) (bool, error)
}

// Image is what a crawl found out about one image.
type Image struct {
	// Ref is the reference as given to [Crawl].
	Ref string
	// Digest is the digest of the image manifest (for a manifest list,
	// of the linux/amd64 instance chosen): the image's identity.
	Digest string
	// ConfigDigest is the digest of the image config blob.
	ConfigDigest string
	// MediaType is the image manifest's media type.
	MediaType string
	// Architecture is the config's architecture, such as "amd64".
	Architecture string
	// Created is the config's creation time, nil when it has none.
	Created *time.Time
	// Config is the config JSON as read from the image.
	Config []byte
	// Layers lists the layers, lowest first.
	Layers []Layer
	// Registry, Repository and Tag say where a docker:// image came from
	// ("docker.io", "library/debian", "bookworm"); they are empty for other
	// transports, and Tag is empty for a reference by digest.
	Registry, Repository, Tag string

	// Extracted is false when [CrawlOptions.Known] said the image is
	// stored already, so that no layer was read and the fields below are
	// empty.
	Extracted bool
	// OS is what the image's os-release says.
	OS osrelease.OS
	// Packages lists the installed packages.
	Packages []Package
	// Files lists every file of the merged image, sorted by path.
	Files []imagefs.File
	// ConfigFiles maps each of [ConfigFilePaths] present in the image to
	// its content; /etc/shadow is redacted by package shadow.
	ConfigFiles map[string]string
}

// Layer is one layer of an image.
type Layer struct {
	// Digest is the layer blob's digest.
	Digest string
	// MediaType is the media type the manifest gives the layer.
	MediaType string
	// Size is the blob's size in bytes.
	Size int64
}

// Package is one installed package.
type Package struct {
	// Ecosystem names the package database, such as [EcosystemDpkg].
	Ecosystem string
	// Name, Version and Arch identify the binary package.
	Name, Version, Arch string
	// SourceName and SourceVersion name the source package it was built
	// from, which is what security notices name.
	SourceName, SourceVersion string
	// Layer is the digest of the layer that last wrote the package
	// database.
	Layer string
}
