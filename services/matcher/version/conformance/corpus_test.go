package conformance_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"crawlspace.dev/services/platform/fixtures"
)

// corpus collects real versions by package name in the order they were
// read, without duplicates.
type corpus struct {
	names    []string
	versions map[string][]string
	seen     map[[2]string]bool
}

func newCorpus() *corpus {
	return &corpus{versions: map[string][]string{}, seen: map[[2]string]bool{}}
}

func (c *corpus) add(name, version string) {
	if version == "" || c.seen[[2]string{name, version}] {
		return
	}
	c.seen[[2]string{name, version}] = true
	if _, ok := c.versions[name]; !ok {
		c.names = append(c.names, name)
	}
	c.versions[name] = append(c.versions[name], version)
}

func (c *corpus) count() int { return len(c.seen) }

// pairs returns up to n pairs: first each version of a package with up to
// three earlier ones of the same package, in alternating order so that both
// lt and gt occur, then pairs across packages chosen with a fixed seed.
func (c *corpus) pairs(n int) [][2]string {
	var out [][2]string
	have := map[[2]string]bool{}
	add := func(a, b string) {
		if len(out) >= n || have[[2]string{a, b}] || have[[2]string{b, a}] {
			return
		}
		have[[2]string{a, b}] = true
		if len(out)%2 == 1 {
			a, b = b, a
		}
		out = append(out, [2]string{a, b})
	}
	for _, name := range c.names {
		vs := c.versions[name]
		for i := range vs {
			for j := max(0, i-3); j < i; j++ {
				add(vs[j], vs[i])
			}
		}
	}
	var all []string
	for _, name := range c.names {
		all = append(all, c.versions[name]...)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for tries := 0; len(out) < n && tries < 10*n && len(all) > 1; tries++ {
		add(all[r.IntN(len(all))], all[r.IntN(len(all))])
	}
	return out
}

// suiteLine matches "[bullseye] - curl 7.74.0-1.3+deb11u7" in DSA/DLA lists.
var suiteLine = regexp.MustCompile(`^\s+\[[a-z-]+\]\s+-\s+(\S+)\s+([0-9]\S*)`)

// debianVersions reads dpkg versions from the DSA and DLA lists, the dpkg
// status files, the tracker JSON excerpts and Ubuntu's OSV records.
func debianVersions(t *testing.T) *corpus {
	t.Helper()
	c := newCorpus()
	for _, rel := range []string{"notices/debian/DSA-list", "notices/debian/DLA-list",
		"notices/debian/DSA-list.edgecases"} {
		for line := range strings.Lines(read(t, fixtures.Path(t, rel))) {
			if m := suiteLine.FindStringSubmatch(line); m != nil {
				c.add(m[1], m[2])
			}
		}
	}
	statusVersions(t, c)
	jsonVersions(t, c, fixtures.Path(t, "notices/debian/tracker-json"), "fixed_version")
	jsonVersions(t, c, fixtures.Path(t, "notices/ubuntu"), "fixed")
	return c
}

// statusVersions adds the Version and Source versions of every stanza of
// the dpkg status fixtures.
func statusVersions(t *testing.T, c *corpus) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtures.Path(t, "pkgdb/dpkg"), "*.status"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dpkg status fixtures: %v", err)
	}
	for _, f := range files {
		for stanza := range strings.SplitSeq(read(t, f), "\n\n") {
			var name string
			for line := range strings.Lines(stanza) {
				k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
				switch k {
				case "Package":
					name = v
				case "Version":
					c.add(name, v)
				case "Source":
					src, ver, ok := strings.Cut(v, " (")
					if ok {
						c.add(src, strings.TrimSuffix(ver, ")"))
					}
				}
			}
		}
	}
}

// jsonVersions adds every string value under key in the JSON files below
// dir, keyed by the file name, skipping "0" (tracker JSON's not-affected).
func jsonVersions(t *testing.T, c *corpus, dir, key string) {
	t.Helper()
	walkJSON(t, dir, func(name string, v any) {
		var visit func(any)
		visit = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if s, ok := e.(string); ok && k == key && s != "0" {
						c.add(name, s)
					}
					visit(e)
				}
			case []any:
				for _, e := range x {
					visit(e)
				}
			}
		}
		visit(v)
	})
}

func walkJSON(t *testing.T, dir string, fn func(name string, v any)) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		var v any
		if err := json.Unmarshal([]byte(read(t, p)), &v); err != nil {
			return nil // not every fixture is one JSON document
		}
		fn(filepath.Base(p), v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rpmVersions reads rpm EVRs from the Red Hat catalog manifests, the
// AlmaLinux errata, Rocky's updateinfo and the Alma and Rocky OSV records.
func rpmVersions(t *testing.T) *corpus {
	t.Helper()
	c := newCorpus()
	srpm := regexp.MustCompile(`"srpm_nevra":\s*"([^"]+)-(\d+:[^"-]+-[^"-]+)\.src"`)
	for _, rel := range []string{"pkgdb/rpm-manifests/ubi8_ubi.txtar",
		"pkgdb/rpm-manifests/ubi9_ubi.txtar"} {
		for _, m := range srpm.FindAllStringSubmatch(read(t, fixtures.Path(t, rel)), -1) {
			c.add(m[1], m[2])
		}
	}
	attrs := regexp.MustCompile(
		`<package name="([^"]+)" version="([^"]+)" release="([^"]+)" epoch="([^"]+)"`)
	updateinfo := read(t, fixtures.Path(t, "notices/redhat/rocky/updateinfo.xml"))
	for _, m := range attrs.FindAllStringSubmatch(updateinfo, -1) {
		c.add(m[1], m[4]+":"+m[2]+"-"+m[3])
	}
	almaErrata(t, c)
	jsonVersions(t, c, fixtures.Path(t, "notices/redhat/alma/osv"), "fixed")
	jsonVersions(t, c, fixtures.Path(t, "notices/redhat/rocky/osv"), "fixed")
	return c
}

// almaErrata adds the packages of errata.almalinux.org's JSON.
func almaErrata(t *testing.T, c *corpus) {
	t.Helper()
	var errata []struct {
		Pkglist struct {
			Packages []struct{ Name, Version, Release, Epoch string }
		}
	}
	data := read(t, fixtures.Path(t, "notices/redhat/alma/errata.json"))
	if err := json.Unmarshal([]byte(data), &errata); err != nil {
		t.Fatalf("parse alma errata: %v", err)
	}
	for _, e := range errata {
		for _, p := range e.Pkglist.Packages {
			c.add(p.Name, p.Epoch+":"+p.Version+"-"+p.Release)
			c.add(p.Name, p.Version+"-"+p.Release)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
