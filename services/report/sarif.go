package report

import (
	"cmp"
	"encoding/json"
	"io"
	"slices"
	"strings"
)

// SARIF 2.1.0 identifiers.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

// sarifLog is the subset of SARIF 2.1.0 that crawlspace writes.
type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	ShortDescription sarifMessage `json:"shortDescription"`
	Properties       sarifProps   `json:"properties"`
}

type sarifProps struct {
	Category string `json:"category"`
	Severity string `json:"severity,omitempty"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	Level     string          `json:"level"`
	Kind      string          `json:"kind"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int64 `json:"startLine"`
}

// violation is one entry of a rule result's evidence.
type violation struct {
	File     string `json:"file"`
	Line     int64  `json:"line"`
	Value    string `json:"value"`
	Expected string `json:"expected"`
}

// WriteSARIF writes the failed compliance results of s as one SARIF 2.1.0
// run: a result per violation, located in the image's file (or in the
// image reference when the violation names no file).
func WriteSARIF(w io.Writer, s Scan) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "crawlspace",
		InformationURI: "https://crawlspace.dev", Rules: []sarifRule{}}},
		Results: []sarifResult{}}
	seen := map[string]bool{}
	for _, img := range s.Images {
		for _, r := range img.Compliance {
			if !seen[r.Rule] {
				seen[r.Rule] = true
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: r.Rule,
					ShortDescription: sarifMessage{Text: cmp.Or(r.Title, r.Rule)},
					Properties:       sarifProps{Category: r.Category, Severity: r.Severity}})
			}
			if r.Status == "fail" || r.Status == "error" {
				run.Results = append(run.Results, sarifResults(img, r)...)
			}
		}
	}
	slices.SortFunc(run.Tool.Driver.Rules, func(a, b sarifRule) int {
		return strings.Compare(a.ID, b.ID)
	})
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Version: sarifVersion, Schema: sarifSchema,
		Runs: []sarifRun{run}})
}

// sarifResults turns one failed or errored rule result into SARIF results.
func sarifResults(img Image, r RuleResult) []sarifResult {
	var ev struct {
		Violations []violation `json:"violations"`
		Error      string      `json:"error"`
	}
	_ = json.Unmarshal(r.Evidence, &ev)
	if r.Status == "error" || len(ev.Violations) == 0 {
		msg := ev.Error
		if msg == "" {
			msg = r.Rule + " failed"
		}
		return []sarifResult{{RuleID: r.Rule, Level: "error", Kind: "fail",
			Message:   sarifMessage{Text: img.Ref + ": " + msg},
			Locations: []sarifLocation{location(img, violation{})}}}
	}
	out := make([]sarifResult, 0, len(ev.Violations))
	for _, v := range ev.Violations {
		out = append(out, sarifResult{RuleID: r.Rule, Level: level(r.Severity), Kind: "fail",
			Message: sarifMessage{Text: img.Ref + ": found " + quote(v.Value) +
				", expected " + v.Expected},
			Locations: []sarifLocation{location(img, v)}})
	}
	return out
}

// level maps a rule's severity to a SARIF level: critical and high are
// errors, medium a warning, low and info notes. An unknown severity, as in
// results stored before severities were reported, counts as an error.
func level(severity string) string {
	switch severity {
	case "medium":
		return "warning"
	case "low", "info":
		return "note"
	}
	return "error"
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// location names the file inside the image by digest, as
// "<digest>/<path>", or the image itself.
func location(img Image, v violation) sarifLocation {
	uri := img.Digest
	if uri == "" {
		uri = img.Ref
	}
	if v.File != "" {
		uri += v.File
	}
	l := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}
	if v.Line > 0 {
		l.PhysicalLocation.Region = &sarifRegion{StartLine: v.Line}
	}
	return l
}
