// Package npm reads the package.json files of installed npm packages
// (node_modules/NAME/package.json, node_modules/@SCOPE/NAME/package.json).
package npm

import (
	"encoding/json"
	"strings"
)

// Parse returns the name and version of a package.json. ok is false when
// the JSON does not parse or lacks either field.
func Parse(content []byte) (name, version string, ok bool) {
	var m struct {
		Name    any `json:"name"`
		Version any `json:"version"`
	}
	if err := json.Unmarshal(content, &m); err != nil {
		return "", "", false
	}
	name, _ = m.Name.(string)
	version, _ = m.Version.(string)
	return name, version, name != "" && version != ""
}

// IsInstalledManifest reports whether p is the package.json of a package
// installed directly under a node_modules directory, not a file deeper in
// a package's own tree.
func IsInstalledManifest(p string) bool {
	rest, ok := strings.CutSuffix(p, "/package.json")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, "/node_modules/")
	if i < 0 {
		return false
	}
	pkg := rest[i+len("/node_modules/"):]
	if strings.HasPrefix(pkg, "@") {
		scope, name, ok := strings.Cut(pkg, "/")
		return ok && len(scope) > 1 && name != "" && !strings.Contains(name, "/")
	}
	return pkg != "" && !strings.Contains(pkg, "/") && !strings.HasPrefix(pkg, ".")
}
