package notices

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"crawlspace.dev/services/notices/advisory"
	"crawlspace.dev/services/notices/alpine"
	"crawlspace.dev/services/notices/announce"
	"crawlspace.dev/services/notices/debian"
	"crawlspace.dev/services/notices/osv"
	"crawlspace.dev/services/notices/rhel"
	"crawlspace.dev/services/notices/ubuntu"
)

// format is how one source's documents are recognised and parsed.
type format struct {
	// parse reads one document; name is safe to log.
	parse func(data []byte, name string) (advisory.Feed, error)
	// match says whether a file in a --from directory is one of the
	// source's documents.
	match func(path string) bool
	// defaults are the locations synced when none is configured.
	defaults []string
	// archive, when set, reads each location as a list archive's index
	// page and its message pages instead of as one document.
	archive *announce.Archive
}

// osvAll is the OSV project's per-ecosystem archive of every record.
const osvAll = "https://osv-vulnerabilities.storage.googleapis.com/"

var formats = map[string]format{
	"debian-dsa": {parse: debian.ParseList, match: prefix("DSA-list", "list"),
		defaults: []string{DefaultDSAList}},
	"debian-dla": {parse: debian.ParseList, match: prefix("DLA-list"),
		defaults: []string{strings.Replace(DefaultDSAList, "/DSA/", "/DLA/", 1)}},
	debian.SourceTracker: {parse: debian.ParseTracker, match: ext(".json"),
		defaults: []string{"https://security-tracker.debian.org/tracker/data/json"}},
	ubuntu.SourceUSN: {parse: parseUSN, match: ext(".json"),
		defaults: []string{osvAll + "Ubuntu/all.zip"}},
	ubuntu.SourceCVE: {parse: osvParser(ubuntu.SourceCVE, ubuntu.ParseOSV), match: ext(".json"),
		defaults: []string{osvAll + "Ubuntu/all.zip"}},
	alpine.Source: {parse: alpine.Parse, match: ext(".yaml", ".yml", ".json"),
		defaults: alpineDefaults()},
	osv.SourceGo: {parse: osvParser(osv.SourceGo, osv.ParseLanguage), match: ext(".json"),
		defaults: []string{osvAll + "Go/all.zip"}},
	osv.SourcePyPI: {parse: osvParser(osv.SourcePyPI, osv.ParseLanguage),
		match: ext(".json", ".yaml", ".yml"), defaults: []string{osvAll + "PyPI/all.zip"}},
	osv.SourceGHSA: {parse: osvParser(osv.SourceGHSA, osv.ParseLanguage), match: ext(".json"),
		defaults: []string{osvAll + "GHSA/all.zip"}},
	rhel.SourceAlma: {parse: parseAlma, match: ext(".json"),
		defaults: []string{"https://errata.almalinux.org/8/errata.json",
			"https://errata.almalinux.org/9/errata.json"}},
	rhel.SourceRocky: {parse: osvParser(rhel.SourceRocky, rhel.ParseOSV), match: ext(".json"),
		defaults: []string{osvAll + "Rocky%20Linux/all.zip"}},
	rhel.SourceCEFS: {parse: rhel.ParseCEFS, match: ext(".xml"),
		defaults: []string{"https://cefs.steve-meier.de/errata.latest.xml"}},
	rhel.SourceCSAF: {parse: rhel.ParseCSAF, match: ext(".json")},
	// The announcement archives are the same advisories as debian-dsa and
	// centos-cefs, under the same ids, read the way the 2018 study read
	// them. They have no default location, so that a sync of every source
	// does not store each advisory twice; name one with --from.
	// TODO(crawlspace): keep notices by (source, id), so that both readings
	// of one advisory can be stored side by side.
	announce.SourceDebian: {archive: announce.Debian, match: prefix(announce.Debian.IndexName)},
	announce.SourceCentOS: {archive: announce.CentOS, match: prefix(announce.CentOS.IndexName)},
}

// aliases are the source names `notices load` accepted before sources
// were named for their feed.
var aliases = map[string]string{"dsa": "debian-dsa", "dla": "debian-dla"}

// Sources returns the names of the sources [Stage.Sync] knows, sorted.
func Sources() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// lookup returns the format of source, resolving aliases.
func lookup(source string) (string, format, error) {
	if a, ok := aliases[source]; ok {
		source = a
	}
	f, ok := formats[source]
	if !ok {
		return "", format{}, fmt.Errorf("%w %q: want one of %s", ErrUnknownSource, source,
			strings.Join(Sources(), ", "))
	}
	return source, f, nil
}

// alpineDefaults lists the secdb documents of the supported branches.
func alpineDefaults() []string {
	var out []string
	for _, b := range []string{"v3.18", "v3.19", "v3.20", "v3.21", "v3.22"} {
		for _, r := range []string{"main", "community"} {
			out = append(out, "https://secdb.alpinelinux.org/"+b+"/"+r+".json")
		}
	}
	return out
}

func osvParser(source string, p func([]byte, string, string) advisory.Feed) func(
	[]byte, string) (advisory.Feed, error) {
	return func(data []byte, name string) (advisory.Feed, error) {
		return p(data, name, source), nil
	}
}

// parseUSN reads a USN in OSV form, or the usn-db database JSON, which is
// a map whose keys are USN numbers rather than an OSV record.
func parseUSN(data []byte, name string) (advisory.Feed, error) {
	if bytes.Contains(data[:min(len(data), 512)], []byte(`"schema_version"`)) ||
		bytes.Contains(data[:min(len(data), 512)], []byte(`"id": "USN-`)) {
		return ubuntu.ParseOSV(data, name, ubuntu.SourceUSN), nil
	}
	return ubuntu.ParseDatabase(data, name)
}

// parseAlma reads errata.json (an array) or an AlmaLinux OSV record.
func parseAlma(data []byte, name string) (advisory.Feed, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		return rhel.ParseAlmaErrata(data, name)
	}
	return rhel.ParseOSV(data, name, rhel.SourceAlma), nil
}

func prefix(ps ...string) func(string) bool {
	return func(path string) bool {
		base := filepath.Base(path)
		for _, p := range ps {
			if strings.HasPrefix(base, p) {
				return true
			}
		}
		return false
	}
}

func ext(es ...string) func(string) bool {
	return func(path string) bool {
		return slices.Contains(es, strings.ToLower(filepath.Ext(path)))
	}
}
