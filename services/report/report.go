// Package report reads what the pipeline stored about images and prints it:
// the stable JSON form that scripts consume, and a table for people.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scan is the result of scanning some images. Its JSON form is a stable
// contract for scripts.
type Scan struct {
	Images []Image `json:"images"`
}

// Image is one scanned image. Error is set, and the rest empty, when the
// scan of Ref failed.
type Image struct {
	Ref             string          `json:"ref"`
	Digest          string          `json:"digest,omitempty"`
	Error           string          `json:"error,omitempty"`
	OS              OS              `json:"os"`
	Packages        []Package       `json:"packages"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
	Compliance      []RuleResult    `json:"compliance"`
}

// OS is the image's operating system as its os-release names it.
type OS struct {
	ID        string `json:"id"`
	VersionID string `json:"version_id"`
	Codename  string `json:"codename"`
}

// Package is one installed package.
type Package struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	SourceName    string `json:"source_name"`
	SourceVersion string `json:"source_version"`
	Arch          string `json:"arch"`
	Ecosystem     string `json:"ecosystem"`
}

// Vulnerability is one open finding: an installed package that a notice
// says is affected.
type Vulnerability struct {
	Package          string   `json:"package"`
	SourceName       string   `json:"source_name"`
	InstalledVersion string   `json:"installed_version"`
	FixedVersion     string   `json:"fixed_version"`
	Notice           string   `json:"notice"`
	CVEs             []string `json:"cves"`
	Status           string   `json:"status"`
}

// RuleResult is one compliance rule's outcome, with its evidence.
type RuleResult struct {
	Rule string `json:"rule"`
	// Title says what the rule wants; empty for results stored before
	// titles were.
	Title    string `json:"title"`
	Category string `json:"category"`
	// Severity is critical, high, medium, low or info.
	Severity string          `json:"severity"`
	Status   string          `json:"status"`
	Evidence json.RawMessage `json:"evidence"`
}

// ErrNotFound means no image with the digest is stored.
var ErrNotFound = errors.New("image not found")

// Load reads the stored results of the image with digest, crawled from ref.
func Load(ctx context.Context, pool *pgxpool.Pool, ref, digest string) (Image, error) {
	img := Image{Ref: ref, Digest: digest}
	err := pool.QueryRow(ctx, `
		SELECT os_id, os_version_id, os_codename FROM images WHERE digest = $1`, digest,
	).Scan(&img.OS.ID, &img.OS.VersionID, &img.OS.Codename)
	if errors.Is(err, pgx.ErrNoRows) {
		return img, fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	if err != nil {
		return img, fmt.Errorf("load image %s: %w", digest, err)
	}
	if img.Packages, err = collect[Package](ctx, pool, `
		SELECT name, version, source_name, source_version, arch, ecosystem
		FROM image_packages WHERE image_digest = $1 ORDER BY name, arch`, digest); err != nil {
		return img, fmt.Errorf("load packages of %s: %w", digest, err)
	}
	if img.Vulnerabilities, err = collect[Vulnerability](ctx, pool, `
		SELECT f.package, f.source_name, f.installed_version, f.fixed_version, f.notice_id,
			n.cves, f.status
		FROM findings f JOIN notices n ON n.id = f.notice_id
		WHERE f.image_digest = $1 AND f.resolved_at IS NULL
		ORDER BY f.package, f.notice_id`, digest); err != nil {
		return img, fmt.Errorf("load findings of %s: %w", digest, err)
	}
	if img.Compliance, err = collect[RuleResult](ctx, pool, `
		SELECT rule_id, title, category, severity, status, evidence
		FROM rule_results WHERE image_digest = $1 ORDER BY rule_id`, digest); err != nil {
		return img, fmt.Errorf("load rule results of %s: %w", digest, err)
	}
	return img, nil
}

// collect runs a query and scans each row, by position, into a T.
func collect[T any](ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]T, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if out == nil {
		out = []T{}
	}
	return out, err
}

// WriteJSON writes s in its stable JSON form.
func WriteJSON(w io.Writer, s Scan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteTable writes s for people: a summary per image, then its
// vulnerabilities and rule results.
func WriteTable(w io.Writer, s Scan) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, img := range s.Images {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "IMAGE\t%s\n", img.Ref)
		if img.Error != "" {
			fmt.Fprintf(tw, "ERROR\t%s\n", img.Error)
			continue
		}
		fmt.Fprintf(tw, "DIGEST\t%s\n", img.Digest)
		fmt.Fprintf(tw, "OS\t%s %s (%s)\n", img.OS.ID, img.OS.VersionID, img.OS.Codename)
		fmt.Fprintf(tw, "PACKAGES\t%d\n", len(img.Packages))
		fmt.Fprintf(tw, "VULNERABILITIES\t%d\n\n", len(img.Vulnerabilities))
		if len(img.Vulnerabilities) > 0 {
			fmt.Fprintln(tw, "PACKAGE\tINSTALLED\tFIXED\tNOTICE\tSTATUS\tCVES")
			for _, v := range img.Vulnerabilities {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Package, v.InstalledVersion,
					v.FixedVersion, v.Notice, v.Status, strings.Join(v.CVEs, " "))
			}
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, "RULE\tSEVERITY\tCATEGORY\tSTATUS\tEVIDENCE")
		for _, r := range img.Compliance {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Rule, r.Severity, r.Category,
				r.Status, r.Evidence)
		}
	}
	return tw.Flush()
}
