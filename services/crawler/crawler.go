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
	"crawlspace.dev/services/platform/distro"
)

// Default limits; see [Limits].
const (
	// MaxConfigFileSize bounds each captured configuration file.
	MaxConfigFileSize = 1 << 20
	// MaxPackageDBSize bounds each package database file.
	MaxPackageDBSize = 64 << 20
	// MaxBinarySize bounds a Java archive read for its packages; larger
	// ones are not read. Go binaries are streamed and not bounded.
	MaxBinarySize = 64 << 20
	// MaxImageBytes bounds an image's uncompressed layers.
	MaxImageBytes = 16 << 30
	// MaxImageFiles bounds the tar members of an image's layers.
	MaxImageFiles = 400_000
	// MaxImageTime bounds the time one crawl may take.
	MaxImageTime = 15 * time.Minute
)

// Limits bound what a crawl reads. A zero field takes its default, the
// constant of the same name with Max prefixed. Going over one fails the
// crawl with an error wrapping [ErrLimit].
type Limits struct {
	ConfigFileSize int64
	PackageDBSize  int64
	BinarySize     int64
	ImageBytes     int64
	ImageFiles     int
	ImageTime      time.Duration
}

// withDefaults returns l with zero fields set to the defaults.
func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.ConfigFileSize, MaxConfigFileSize)
	def(&l.PackageDBSize, MaxPackageDBSize)
	def(&l.BinarySize, MaxBinarySize)
	def(&l.ImageBytes, MaxImageBytes)
	if l.ImageFiles <= 0 {
		l.ImageFiles = MaxImageFiles
	}
	if l.ImageTime <= 0 {
		l.ImageTime = MaxImageTime
	}
	return l
}

// Paths of the files a crawl reads.
const (
	PathOSRelease    = "/etc/os-release"
	PathUsrOSRelease = "/usr/lib/os-release"
	PathDpkgStatus   = "/var/lib/dpkg/status"
	PathSSHDConfig   = "/etc/ssh/sshd_config"
	PathPasswd       = "/etc/passwd"
	PathShadow       = "/etc/shadow"
	PathGShadow      = "/etc/gshadow"
)

// ConfigFilePaths are the files kept in [Image.ConfigFiles] when present,
// unless [CrawlOptions.ConfigPaths] says otherwise. An entry ending in
// "/*" keeps every regular file directly in that directory.
var ConfigFilePaths = []string{
	PathOSRelease, PathUsrOSRelease, PathSSHDConfig, "/etc/ssh/sshd_config.d/*",
	"/etc/login.defs", PathPasswd, "/etc/group", PathShadow, PathGShadow,
	"/etc/vsftpd.conf", "/etc/vsftpd/vsftpd.conf", "/etc/proftpd.conf",
	"/etc/proftpd/proftpd.conf", "/etc/pam.d/*", "/etc/sudoers", "/etc/sudoers.d/*",
	"/etc/securetty", "/etc/inetd.conf",
}

// EcosystemDpkg is the ecosystem of packages from dpkg's status database.
const EcosystemDpkg = distro.Dpkg

// CrawlOptions tunes [Crawl]. The zero value crawls over TLS only, without
// a layer cache, with the default limits and config files.
type CrawlOptions struct {
	// InsecureRegistries lists registries (host or host:port, as in the
	// reference) that may be reached over plain HTTP or unverified TLS.
	InsecureRegistries []string
	// Known, when set, is asked once the manifest digest is known whether
	// that image is already stored. When it says so, Crawl returns the
	// manifest and config without reading any layer, and the result's
	// Extracted is false.
	Known func(ctx context.Context, digest string) (bool, error)
	// Cache, when set, holds the features of layers crawled before: a
	// layer found there is not read again, and a layer read is added.
	Cache LayerCache
	// Limits bound what the crawl reads.
	Limits Limits
	// ConfigPaths replaces [ConfigFilePaths] when set.
	ConfigPaths []string
	// Platform chooses from a manifest list, "os/arch" or
	// "os/arch/variant"; empty means linux/amd64. [PlatformAll] makes
	// [CrawlAll] crawl every platform; [Crawl] then takes linux/amd64.
	Platform string
	// AuthFiles are registry auth files (containers auth.json or Docker
	// config.json format), searched in order for the registry's
	// credentials. When none has them, the library's default locations
	// are searched. The caller finds the files (REGISTRY_AUTH_FILE and
	// the standard places); the crawler never logs them.
	AuthFiles []string
	// TempDir holds the short-lived copies of rpm databases that the rpm
	// readers need as files; empty means the system's temporary directory.
	TempDir string
	// Progress, when set, is called as each layer blob is read, from the
	// goroutine that reads it. Layers found in the cache are not reported.
	Progress func(Progress)
}

// Progress says how far a crawl has read the layer it is reading.
type Progress struct {
	// Layer is the layer's position in the image, from 1, of Layers.
	Layer, Layers int
	// Digest is the layer's digest.
	Digest string
	// Read counts the blob's bytes read so far; Size is the blob's size,
	// 0 when the manifest does not say.
	Read, Size int64
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
	// Platform is the config's os/architecture[/variant], such as
	// "linux/arm64/v8": which of a manifest list's images this is.
	Platform string
	// Created is the config's creation time, nil when it has none.
	Created *time.Time
	// Config is the config JSON as read from the image, with the values of
	// secret environment variables replaced by [Redacted] ([RedactConfig]).
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
	// Cached is set when the layer's features came from the layer cache
	// and its blob was not read.
	Cached bool
}

// Package is one installed package.
type Package struct {
	// Ecosystem names the package database: one of the distro package's
	// ecosystem constants, such as [distro.Dpkg] or [distro.PyPI].
	Ecosystem string `json:"ecosystem"`
	// Name, Version and Arch identify the package. Language packages have
	// no Arch.
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	// SourceName and SourceVersion name the source package it was built
	// from, which is what security notices name.
	SourceName    string `json:"source_name"`
	SourceVersion string `json:"source_version"`
	// Layer is the digest of the lowest layer in which the package appears
	// with this version.
	Layer string `json:"layer"`
	// Path is the file the package was read from: the package database,
	// or a language package's metadata file, binary or archive.
	Path string `json:"path"`
}
