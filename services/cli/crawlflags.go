package cli

import (
	"errors"
	"flag"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/platform/config"
)

// crawlFlags are the crawler's limits, config-file paths and registry
// credentials, shared by the commands that crawl: all, crawler, scan and
// crawl. Each flag has its CRAWLSPACE_* environment fallback.
type crawlFlags struct {
	maxImageBytes      int
	maxFiles           int
	timeout            time.Duration
	maxConfigFileBytes int
	maxPackageDBBytes  int
	maxBinaryBytes     int
	configPaths        []string
	authFile           string
	// platform is the stages' --crawl-platform; crawl has --platform.
	platform string
	getenv   func(string) string
}

// register defines the crawl flags on fs.
func (c *crawlFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	c.getenv = getenv
	config.Int(fs, getenv, &c.maxImageBytes, "crawl-max-image-bytes", crawler.MaxImageBytes,
		"most uncompressed layer bytes an image may have")
	config.Int(fs, getenv, &c.maxFiles, "crawl-max-files", crawler.MaxImageFiles,
		"most files an image's layers may hold")
	config.Duration(fs, getenv, &c.timeout, "crawl-timeout", crawler.MaxImageTime,
		"longest one image's crawl may take")
	config.Int(fs, getenv, &c.maxConfigFileBytes, "crawl-max-config-file-bytes",
		crawler.MaxConfigFileSize, "most bytes kept of each config file")
	config.Int(fs, getenv, &c.maxPackageDBBytes, "crawl-max-package-db-bytes",
		crawler.MaxPackageDBSize, "most bytes read of each package database")
	config.Int(fs, getenv, &c.maxBinaryBytes, "crawl-max-binary-bytes", crawler.MaxBinarySize,
		"largest Java archive read for its packages")
	config.List(fs, getenv, &c.configPaths, "crawl-config-paths",
		config.EnvName("crawl-config-paths"),
		"absolute paths of the config files kept (a dir/* entry keeps a directory's files); "+
			"default the built-in set")
	config.Str(fs, getenv, &c.authFile, "registry-auth-file", "",
		"registry auth file searched first, before containers auth.json and Docker "+
			"config.json (default $REGISTRY_AUTH_FILE)")
}

// registerStage defines the crawl flags plus the stage's platform choice.
func (c *crawlFlags) registerStage(fs *flag.FlagSet, getenv func(string) string) {
	c.register(fs, getenv)
	config.Str(fs, getenv, &c.platform, "crawl-platform", "",
		"os/arch[/variant] chosen from manifest lists, or \"all\" for every platform "+
			"(default linux/amd64)")
}

// validate returns an error for flag values no crawl can run with; flags
// never registered are not checked.
func (c *crawlFlags) validate() error {
	if c.getenv == nil {
		return nil
	}
	var errs []error
	positive := func(name string, v int64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s %d: want a positive number", name, v))
		}
	}
	positive("crawl-max-image-bytes", int64(c.maxImageBytes))
	positive("crawl-max-files", int64(c.maxFiles))
	positive("crawl-timeout", int64(c.timeout))
	positive("crawl-max-config-file-bytes", int64(c.maxConfigFileBytes))
	positive("crawl-max-package-db-bytes", int64(c.maxPackageDBBytes))
	positive("crawl-max-binary-bytes", int64(c.maxBinaryBytes))
	for _, p := range c.configPaths {
		if _, err := path.Match(p, ""); err != nil || !path.IsAbs(p) || path.Clean(p) != p {
			errs = append(errs, fmt.Errorf("crawl-config-paths %q: want a clean absolute "+
				"path or pattern", p))
		}
	}
	if err := validPlatform(c.platform); err != nil {
		errs = append(errs, fmt.Errorf("crawl-platform: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}

// validPlatform checks a --platform value: empty, "all" or
// os/arch[/variant].
func validPlatform(p string) error {
	if p == "" || p == crawler.PlatformAll {
		return nil
	}
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" ||
		(len(parts) == 3 && parts[2] == "") {
		return fmt.Errorf("%q: want os/arch[/variant] or all", p)
	}
	return nil
}

// limits returns the crawler's limits from the flags.
func (c *crawlFlags) limits() crawler.Limits {
	return crawler.Limits{
		ConfigFileSize: int64(c.maxConfigFileBytes),
		PackageDBSize:  int64(c.maxPackageDBBytes),
		BinarySize:     int64(c.maxBinaryBytes),
		ImageBytes:     int64(c.maxImageBytes),
		ImageFiles:     c.maxFiles,
		ImageTime:      c.timeout,
	}
}

// stageOptions returns the crawler stage's options from the flags.
func (c *crawlFlags) stageOptions() crawler.Options {
	return crawler.Options{Limits: c.limits(), ConfigPaths: c.configPaths,
		Platform: c.platform, AuthFiles: c.authFiles()}
}

// authFiles lists the registry auth files in the order they are searched:
// --registry-auth-file (or REGISTRY_AUTH_FILE), the containers auth.json
// under $XDG_RUNTIME_DIR and under $XDG_CONFIG_HOME (or ~/.config), and
// Docker's config.json under $DOCKER_CONFIG (or ~/.docker). Files that do
// not exist are skipped by the crawler.
func (c *crawlFlags) authFiles() []string {
	getenv := c.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	home := getenv("HOME")
	var out []string
	add := func(parts ...string) {
		for _, p := range parts {
			if p == "" {
				return
			}
		}
		p := filepath.Join(parts...)
		for _, o := range out {
			if o == p {
				return
			}
		}
		out = append(out, p)
	}
	if c.authFile != "" {
		add(c.authFile)
	} else {
		add(getenv("REGISTRY_AUTH_FILE"))
	}
	add(getenv("XDG_RUNTIME_DIR"), "containers", "auth.json")
	if cfg := getenv("XDG_CONFIG_HOME"); cfg != "" {
		add(cfg, "containers", "auth.json")
	} else {
		add(home, ".config", "containers", "auth.json")
	}
	if d := getenv("DOCKER_CONFIG"); d != "" {
		add(d, "config.json")
	} else {
		add(home, ".docker", "config.json")
	}
	return out
}
