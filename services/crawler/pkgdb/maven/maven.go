// Package maven reads the Maven coordinates that Java archives (.jar,
// .war, .ear) carry in META-INF/maven/GROUP/ARTIFACT/pom.properties,
// including those of the archives a .war or .ear holds one level down.
package maven

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

// Artifact is one Maven artifact found in an archive.
type Artifact struct {
	// Name is "groupId:artifactId", as OSV's Maven records spell it.
	Name string
	// Version is the version property.
	Version string
}

// Bounds on what Read decompresses.
const (
	// maxProperties bounds one pom.properties.
	maxProperties = 64 << 10
	// maxEntries bounds the members of one archive.
	maxEntries = 100_000
)

// IsArchive reports whether p names a Java archive.
func IsArchive(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".jar", ".war", ".ear":
		return true
	}
	return false
}

// Read returns the artifacts of the archive data. Archives nested one level
// (WEB-INF/lib/x.jar) are read when they decompress to at most
// maxNested bytes each.
func Read(data []byte, maxNested int64) ([]Artifact, error) {
	return read(data, maxNested, true)
}

// read reads one archive, and nested ones when nested is set.
func read(data []byte, maxNested int64, nested bool) ([]Artifact, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("open java archive: %w", err)
	}
	if len(zr.File) > maxEntries {
		return nil, fmt.Errorf("open java archive: %d members, limit %d", len(zr.File),
			maxEntries)
	}
	var out []Artifact
	for _, f := range zr.File {
		switch {
		case isProperties(f.Name):
			if a, ok := readProperties(f); ok {
				out = append(out, a)
			}
		case nested && IsArchive(f.Name) && f.UncompressedSize64 <= uint64(maxNested):
			inner, err := readAll(f, maxNested)
			if err != nil {
				continue
			}
			if arts, err := read(inner, maxNested, false); err == nil {
				out = append(out, arts...)
			}
		}
	}
	return out, nil
}

// isProperties reports whether name is META-INF/maven/G/A/pom.properties.
func isProperties(name string) bool {
	parts := strings.Split(name, "/")
	return len(parts) == 5 && parts[0] == "META-INF" && parts[1] == "maven" &&
		parts[4] == "pom.properties"
}

// readProperties parses one pom.properties.
func readProperties(f *zip.File) (Artifact, bool) {
	data, err := readAll(f, maxProperties)
	if err != nil {
		return Artifact{}, false
	}
	return ParseProperties(string(data))
}

// readAll decompresses f, failing beyond limit bytes whatever its header
// claims.
func readAll(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", f.Name, limit)
	}
	return data, nil
}

// ParseProperties reads groupId, artifactId and version from a
// pom.properties file. ok is false when any is missing.
func ParseProperties(content string) (Artifact, bool) {
	props := map[string]string{}
	for line := range strings.Lines(content) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if ok {
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	g, a, v := props["groupId"], props["artifactId"], props["version"]
	if g == "" || a == "" || v == "" {
		return Artifact{}, false
	}
	return Artifact{Name: g + ":" + a, Version: v}, true
}
