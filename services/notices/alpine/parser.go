// Package alpine parses Alpine's secdb (secdb.alpinelinux.org), one
// document per branch and repository, as YAML or JSON:
//
//	distroversion: v3.11
//	reponame: main
//	packages:
//	  - pkg:
//	      name: openssl
//	      secfixes:
//	        1.1.1d-r1: [CVE-2019-1547]
//	        0: [CVE-2018-0000]
//
// Each secfixes key is a version that fixes the CVEs listed under it, and
// becomes one notice, "ALPINE-v3.11-openssl-1.1.1d-r1", with one affected
// row. The key "0" means the package was never affected (not-affected).
// Package names are origin (source) names, as apk's database records them.
package alpine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/platform/distro"
)

// Source is the Alpine secdb feed's source name.
const Source = "alpine-secdb"

// document is one secdb file. Some producers write an empty packages
// list as {}, and an empty CVE list as {} or null, so both are nodes.
type document struct {
	DistroVersion string    `yaml:"distroversion"`
	RepoName      string    `yaml:"reponame"`
	Packages      yaml.Node `yaml:"packages"`
}

type pkgEntry struct {
	Pkg struct {
		Name     string    `yaml:"name"`
		SecFixes yaml.Node `yaml:"secfixes"`
	} `yaml:"pkg"`
}

var errNoName = errors.New("package entry without a name")

// Parse reads one secdb document, YAML or JSON (YAML's flow syntax reads
// both). Malformed package entries are skipped and reported; a document
// that cannot be read at all, or names no branch, is an error.
func Parse(data []byte, name string) (advisory.Feed, error) {
	var doc document
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return advisory.Feed{}, fmt.Errorf("decode secdb %s: %w", name, err)
	}
	release := doc.DistroVersion
	if !strings.HasPrefix(release, "v") && release != "edge" {
		return advisory.Feed{}, fmt.Errorf("decode secdb %s: distroversion %q", name, release)
	}
	var f advisory.Feed
	if doc.Packages.Kind != yaml.SequenceNode {
		return f, nil
	}
	for i, node := range doc.Packages.Content {
		pos := fmt.Sprintf("packages[%d]", i)
		var p pkgEntry
		if err := node.Decode(&p); err != nil {
			f.Skip(name, pos, "", fmt.Errorf("decode package entry: %w", err))
			continue
		}
		if p.Pkg.Name == "" {
			f.Skip(name, pos, "", errNoName)
			continue
		}
		addPackage(&f, name, pos, release, p)
	}
	return f, nil
}

// addPackage adds one notice per secfixes key of p.
func addPackage(f *advisory.Feed, name, pos, release string, p pkgEntry) {
	fixes := p.Pkg.SecFixes
	if fixes.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(fixes.Content); i += 2 {
		version := strings.TrimSpace(fixes.Content[i].Value)
		id := "ALPINE-" + release + "-" + p.Pkg.Name + "-" + version
		if version == "" || strings.ContainsAny(version, " \t") {
			f.Skip(name, pos, id, fmt.Errorf("secfixes key %q is not a version", version))
			continue
		}
		a := advisory.Affected{Ecosystem: distro.APK, Release: release, Package: p.Pkg.Name,
			Status: advisory.StatusFixed, FixedVersion: version}
		if version == "0" {
			a.Status, a.FixedVersion = advisory.StatusNotAffected, ""
		}
		n := advisory.Notice{ID: id, Source: Source, Title: p.Pkg.Name + " " + version,
			CVEs: cves(fixes.Content[i+1]), URL: "https://security.alpinelinux.org/srcpkg/" +
				p.Pkg.Name, Affected: []advisory.Affected{a}}
		f.Add(name, pos+"."+version, n)
	}
}

// cves reads the ids under one secfixes key. An entry may hold several
// ids, or an id with a note ("CVE-2019-1 CVE-2019-2", "XSA-123"); every
// word that looks like an id is kept.
func cves(node *yaml.Node) []string {
	if node.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, c := range node.Content {
		for _, w := range strings.Fields(c.Value) {
			if i := strings.IndexByte(w, '-'); i > 0 && i < len(w)-1 {
				out = append(out, w)
			}
		}
	}
	return slices.Compact(out)
}
