package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/platform/config"
)

// crawlOutput is `crawlspace crawl --format json`: scan's image keys, the
// packages with their layer, plus the files, config files and config.
type crawlOutput struct {
	Ref      string            `json:"ref"`
	Digest   string            `json:"digest"`
	Platform string            `json:"platform"`
	OS       crawlOS           `json:"os"`
	Layers   []crawler.Layer   `json:"layers"`
	Packages []crawler.Package `json:"packages"`
	Files    []imagefs.File    `json:"files"`
	Configs  map[string]string `json:"configs"`
	Config   json.RawMessage   `json:"config"`
}

// crawlOS is the os object of scan's output, plus the variant.
type crawlOS struct {
	ID        string `json:"id"`
	VersionID string `json:"version_id"`
	Codename  string `json:"codename"`
	Name      string `json:"name"`
	Variant   string `json:"variant,omitempty"`
}

// runCrawl crawls one image in this process, without NATS or PostgreSQL,
// and prints what it found: with --platform all, every platform image of
// a manifest list (as a JSON array).
func runCrawl(ctx context.Context, env Env) error {
	fs := config.NewFlagSet("crawlspace crawl", env.Stderr)
	var format, platform string
	var insecure []string
	config.Str(fs, env.Getenv, &format, "format", "table", "output format: table or json")
	config.List(fs, env.Getenv, &insecure, "insecure-registry", "CRAWLSPACE_INSECURE_REGISTRIES",
		"registry host:port allowed over plain HTTP (repeatable, or comma-separated)")
	config.Str(fs, env.Getenv, &platform, "platform", "",
		"os/arch[/variant] to choose from a manifest list, or all (default linux/amd64)")
	var cf crawlFlags
	cf.register(fs, env.Getenv)
	if err := fs.Parse(env.Args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: crawl needs one image reference", errUsage)
	}
	if format != "table" && format != "json" {
		return fmt.Errorf("%w: format %q: want table or json", errUsage, format)
	}
	if err := validPlatform(platform); err != nil {
		return fmt.Errorf("%w: platform: %w", errUsage, err)
	}
	if err := cf.validate(); err != nil {
		return err
	}
	opts := crawler.CrawlOptions{
		InsecureRegistries: insecure, Platform: platform,
		Limits: cf.limits(), ConfigPaths: cf.configPaths, AuthFiles: cf.authFiles(),
	}
	var pb *progressBar
	if isTerminal(env.Stderr) {
		pb = &progressBar{w: env.Stderr}
		opts.Progress = pb.report
	}
	imgs, err := crawler.CrawlAll(ctx, fs.Arg(0), opts)
	if pb != nil {
		pb.done()
	}
	if err != nil {
		return err
	}
	if format == "json" {
		return writeCrawlJSON(env.Stdout, imgs, platform == crawler.PlatformAll)
	}
	for _, img := range imgs {
		if err := writeCrawlTable(env.Stdout, img); err != nil {
			return err
		}
	}
	return nil
}

// writeCrawlJSON writes one image's crawlOutput, or an array of them when
// list is set.
func writeCrawlJSON(w io.Writer, imgs []*crawler.Image, list bool) error {
	outs := make([]crawlOutput, len(imgs))
	for i, img := range imgs {
		outs[i] = crawlJSON(img)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	var v any = outs
	if !list {
		v = outs[0]
	}
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write crawl: %w", err)
	}
	return nil
}

// crawlJSON is the crawlOutput of img.
func crawlJSON(img *crawler.Image) crawlOutput {
	out := crawlOutput{
		Ref: img.Ref, Digest: img.Digest, Platform: img.Platform, Layers: img.Layers,
		Packages: img.Packages,
		Files:    img.Files, Configs: img.ConfigFiles, Config: img.Config,
		OS: crawlOS{ID: img.OS.ID, VersionID: img.OS.VersionID, Codename: img.OS.Codename,
			Name: img.OS.Name, Variant: img.OS.Variant},
	}
	if !json.Valid(out.Config) {
		out.Config = nil
	}
	return out
}

func writeCrawlTable(w io.Writer, img *crawler.Image) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	osName := img.OS.Name
	if osName == "" {
		osName = img.OS.ID + " " + img.OS.VersionID
	}
	if img.OS.Variant != "" {
		osName += " (" + img.OS.Variant + ")"
	}
	fmt.Fprintf(tw, "ref\t%s\ndigest\t%s\nplatform\t%s\nos\t%s\nlayers\t%d\nfiles\t%d\n"+
		"packages\t%d\nconfig files\t%d\n\n", img.Ref, img.Digest, img.Platform, osName,
		len(img.Layers), len(img.Files), len(img.Packages), len(img.ConfigFiles))
	fmt.Fprintln(tw, "ECOSYSTEM\tNAME\tVERSION\tARCH\tSOURCE\tLAYER")
	for _, p := range img.Packages {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\n", p.Ecosystem, p.Name, p.Version, p.Arch,
			p.SourceName, p.SourceVersion, shortDigest(p.Layer))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write crawl: %w", err)
	}
	return nil
}

// shortDigest abbreviates "sha256:0123456789ab…" to its first 12 hex digits.
func shortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if ok && len(hex) > 12 {
		return hex[:12]
	}
	return d
}
