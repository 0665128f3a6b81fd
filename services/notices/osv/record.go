// Package osv parses advisories in the Open Source Vulnerability format
// (https://ossf.github.io/osv-schema/), as JSON or as YAML, into
// [advisory.Notice] values. It reads the Go vulnerability database, PyPA's
// PYSEC records and GitHub's GHSA records itself, and gives the Ubuntu and
// RHEL-family packages the record model and conversion their OSV feeds
// share, through a [Mapper] that names each feed's ecosystems.
package osv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Record is the part of an OSV record that crawlspace uses.
type Record struct {
	ID        string     `json:"id" yaml:"id"`
	Summary   string     `json:"summary" yaml:"summary"`
	Details   string     `json:"details" yaml:"details"`
	Aliases   []string   `json:"aliases" yaml:"aliases"`
	Upstream  []string   `json:"upstream" yaml:"upstream"`
	Published string     `json:"published" yaml:"published"`
	Modified  string     `json:"modified" yaml:"modified"`
	Withdrawn string     `json:"withdrawn" yaml:"withdrawn"`
	Severity  []Severity `json:"severity" yaml:"severity"`
	Affected  []Affected `json:"affected" yaml:"affected"`
	// DatabaseSpecific holds GHSA's severity word, among others.
	DatabaseSpecific struct {
		Severity string `json:"severity" yaml:"severity"`
	} `json:"database_specific" yaml:"database_specific"`
}

// Severity is one OSV severity score, such as a CVSS vector or Ubuntu's
// priority word.
type Severity struct {
	Type  string `json:"type" yaml:"type"`
	Score string `json:"score" yaml:"score"`
}

// Affected is one affected package of a [Record].
type Affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
		Name      string `json:"name" yaml:"name"`
		Purl      string `json:"purl" yaml:"purl"`
	} `json:"package" yaml:"package"`
	Ranges            []Range `json:"ranges" yaml:"ranges"`
	EcosystemSpecific struct {
		Binaries []struct {
			Name    string `json:"binary_name" yaml:"binary_name"`
			Version string `json:"binary_version" yaml:"binary_version"`
		} `json:"binaries" yaml:"binaries"`
	} `json:"ecosystem_specific" yaml:"ecosystem_specific"`
}

// Range is one OSV range: a type (ECOSYSTEM, SEMVER or GIT) and its events.
type Range struct {
	Type   string  `json:"type" yaml:"type"`
	Repo   string  `json:"repo,omitempty" yaml:"repo"`
	Events []Event `json:"events" yaml:"events"`
}

// Event is one range event; exactly one of its fields is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty" yaml:"introduced"`
	Fixed        string `json:"fixed,omitempty" yaml:"fixed"`
	LastAffected string `json:"last_affected,omitempty" yaml:"last_affected"`
	Limit        string `json:"limit,omitempty" yaml:"limit"`
}

// errNoID is returned for a document without an id.
var errNoID = errors.New("record has no id")

// Decode reads one OSV record from data, which is JSON when its first
// non-blank byte is '{' and YAML otherwise.
func Decode(data []byte) (Record, error) {
	var r Record
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		if err := json.Unmarshal(t, &r); err != nil {
			return Record{}, fmt.Errorf("decode osv json: %w", err)
		}
	} else if err := yaml.Unmarshal(data, &r); err != nil {
		return Record{}, fmt.Errorf("decode osv yaml: %w", err)
	}
	if r.ID == "" {
		return Record{}, errNoID
	}
	return r, nil
}

// PublishedTime returns when r was published, or the zero time when the
// record does not say or says the Go vulndb placeholder year 1.
func (r *Record) PublishedTime() time.Time {
	t, err := time.Parse(time.RFC3339, r.Published)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}
