package crawler

import (
	"path"
	"strings"

	"crawlspace.dev/services/crawler/imagefs"
	"crawlspace.dev/services/crawler/osrelease"
	"crawlspace.dev/services/crawler/shadow"
)

// merge builds the image's view from its layers' features, lowest first:
// the merged files with whiteouts applied, the config files, the OS and
// the packages of the databases and files the merged image still has.
func (p *scanPlan) merge(img *Image, feats []*features) {
	fs := imagefs.New(imagefs.Options{})
	for i, f := range feats {
		fs.Apply(img.Layers[i].Digest, f.FS)
	}
	img.Extracted = true
	img.Files = fs.Files()
	img.ConfigFiles = p.configFiles(fs, img.Files)
	img.Packages = mergePackages(fs, img.Layers, feats)
	img.OS = detectOS(fs, img.Packages)
}

// configFiles returns the captured configuration files, shadow and
// gshadow redacted, as valid UTF-8 without NUL bytes so that they store as
// text.
func (p *scanPlan) configFiles(fs *imagefs.FS, files []imagefs.File) map[string]string {
	out := make(map[string]string)
	keep := func(name string) {
		data, ok := fs.Content(name)
		if !ok {
			return
		}
		s := textOf(data)
		if name == PathShadow || name == PathGShadow {
			s = shadow.Redact(s)
		}
		out[name] = s
	}
	for _, c := range p.configs {
		if !isPattern(c) {
			keep(c)
			continue
		}
		for _, f := range files {
			if ok, _ := path.Match(c, f.Path); ok && f.Type != imagefs.TypeDir {
				keep(f.Path)
			}
		}
	}
	return out
}

// textOf turns file content into storable text.
func textOf(data []byte) string {
	s := strings.ToValidUTF8(string(data), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// mergePackages returns the packages whose file the merged image still
// holds as the layer that recorded them wrote it, each attributed to the
// lowest layer in which the same package version appears.
func mergePackages(fs *imagefs.FS, layers []Layer, feats []*features) []Package {
	first := make(map[string]string)
	for i, f := range feats {
		for _, pkg := range f.Packages {
			if k := packageKey(pkg); first[k] == "" {
				first[k] = layers[i].Digest
			}
		}
	}
	var out []Package
	done := make(map[string]bool)
	for i, f := range feats {
		d := layers[i].Digest
		if done[d] {
			continue
		}
		done[d] = true
		live := make(map[string]bool)
		for _, pkg := range f.Packages {
			ok, seen := live[pkg.Path]
			if !seen {
				st, err := fs.Stat(pkg.Path)
				ok = err == nil && st.Layer == d
				live[pkg.Path] = ok
			}
			if ok {
				pkg.Layer = first[packageKey(pkg)]
				out = append(out, pkg)
			}
		}
	}
	return out
}

// detectOS reads the release files; an image with none and no OS package
// is scratch.
func detectOS(fs *imagefs.FS, pkgs []Package) osrelease.OS {
	os, found := osrelease.Detect(func(p string) (string, bool) {
		data, ok := fs.Content(p)
		return string(data), ok
	})
	if found {
		return os
	}
	for _, p := range pkgs {
		if _, ok := packageDBs[p.Path]; ok || strings.HasPrefix(p.Path, "/var/lib/dpkg/") {
			return os
		}
	}
	return osrelease.OS{Variant: osrelease.VariantScratch}
}
