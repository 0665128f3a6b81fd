// Package rpm reads rpm's package database in its three formats
// (BerkeleyDB Packages, NDB Packages.db and SQLite rpmdb.sqlite) with
// go-rpmdb, in pure Go: the packages a RHEL-family or SUSE image has
// installed, with the source rpm each was built from.
package rpm

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
	// The SQLite backend opens its file through database/sql as "sqlite".
	_ "modernc.org/sqlite"
)

// Package is one installed package.
type Package struct {
	// Name is the package name.
	Name string
	// Version is "[epoch:]version-release", the epoch only when set.
	Version string
	// Arch is the architecture ("x86_64", "noarch").
	Arch string
	// SourceName and SourceVersion come from SOURCERPM
	// ("openssl-3.0.7-27.el9.src.rpm" is openssl, 3.0.7-27.el9), with the
	// package's epoch prefixed to the version when it has one. Without a
	// SOURCERPM they are the package's own name and version.
	SourceName, SourceVersion string
	// SourceRPM is the SOURCERPM value as stored, "" when it has none.
	SourceRPM string
}

// Parse returns the packages of a database file's content, whichever of
// the three formats it is in. The libraries that read the formats need a
// file, so the content is written to a temporary file under dir (the
// system's temporary directory when empty) and removed before Parse
// returns.
func Parse(content []byte, dir string) ([]Package, error) {
	f, err := os.CreateTemp(dir, "crawlspace-rpmdb-*")
	if err != nil {
		return nil, fmt.Errorf("parse rpm db: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("parse rpm db: write temporary copy: %w", err)
	}
	return ParseFile(f.Name())
}

// ParseFile returns the packages of the database file at path.
func ParseFile(path string) (pkgs []Package, err error) {
	// The format readers index into the file as its headers say; a
	// hostile file must fail the parse, not the process.
	defer func() {
		if r := recover(); r != nil {
			pkgs, err = nil, fmt.Errorf("parse rpm db: corrupt database: %v", r)
		}
	}()
	db, err := rpmdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open rpm db: %w", err)
	}
	defer db.Close()
	infos, err := db.ListPackages()
	if err != nil {
		return nil, fmt.Errorf("list rpm db: %w", err)
	}
	pkgs = make([]Package, 0, len(infos))
	for _, p := range infos {
		pkgs = append(pkgs, fromInfo(p))
	}
	return pkgs, nil
}

// fromInfo converts one go-rpmdb package.
func fromInfo(p *rpmdb.PackageInfo) Package {
	epoch := ""
	if p.Epoch != nil {
		epoch = strconv.Itoa(*p.Epoch) + ":"
	}
	out := Package{
		Name:    p.Name,
		Version: epoch + p.Version + "-" + p.Release,
		Arch:    p.Arch,
	}
	if p.SourceRpm != "(none)" {
		out.SourceRPM = p.SourceRpm
	}
	out.SourceName, out.SourceVersion = out.Name, out.Version
	if name, version, err := SplitSourceRPM(p.SourceRpm); err == nil {
		out.SourceName, out.SourceVersion = name, epoch+version
	}
	return out
}

// errNoSource reports a SOURCERPM value that names no source rpm.
var errNoSource = errors.New("not a source rpm file name")

// SplitSourceRPM splits a SOURCERPM value such as
// "openssl-3.0.7-27.el9.src.rpm" into its name and "version-release".
func SplitSourceRPM(s string) (name, version string, err error) {
	base, ok := strings.CutSuffix(s, ".rpm")
	if !ok {
		return "", "", fmt.Errorf("%w: %q", errNoSource, s)
	}
	if b, ok := strings.CutSuffix(base, ".src"); ok {
		base = b
	} else if b, ok := strings.CutSuffix(base, ".nosrc"); ok {
		base = b
	}
	r := strings.LastIndexByte(base, '-')
	if r <= 0 {
		return "", "", fmt.Errorf("%w: %q", errNoSource, s)
	}
	v := strings.LastIndexByte(base[:r], '-')
	if v <= 0 || r == len(base)-1 || v == r-1 {
		return "", "", fmt.Errorf("%w: %q", errNoSource, s)
	}
	return base[:v], base[v+1:], nil
}
