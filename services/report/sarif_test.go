package report_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"crawlspace.dev/services/report"
)

// TestWriteSARIF checks the fields SARIF 2.1.0 requires and that each
// violation becomes a located result, while passes and n/a do not.
func TestWriteSARIF(t *testing.T) {
	s := report.Scan{Images: []report.Image{{Ref: "r/app:1", Digest: "sha256:ab",
		Compliance: []report.RuleResult{
			{Rule: "ssh-permit-root-login", Title: "SSH server does not permit root login",
				Category: "ssh", Severity: "high", Status: "fail",
				Evidence: json.RawMessage(`{"violations":[{"file":"/etc/ssh/sshd_config",
					"line":3,"value":"yes","expected":"no"}]}`)},
			{Rule: "image-user-root", Category: "image", Severity: "medium", Status: "fail",
				Evidence: json.RawMessage(`{"violations":[{"file":"","line":0,"value":"",
					"expected":"a non-root user"}]}`)},
			{Rule: "password-empty", Category: "password", Status: "pass",
				Evidence: json.RawMessage(`{"violations":[]}`)},
			{Rule: "ftp-vsftpd-tls", Category: "ftp", Status: "not-applicable",
				Evidence: json.RawMessage(`{}`)},
		}}}}
	var buf bytes.Buffer
	if err := report.WriteSARIF(&buf, s); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct {
						ID               string
						ShortDescription struct{ Text string }
						Properties       struct{ Severity string }
					}
				}
			}
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           *struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if log.Version != "2.1.0" || log.Schema == "" || len(log.Runs) != 1 {
		t.Fatalf("version %q schema %q runs %d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name == "" || len(run.Tool.Driver.Rules) != 4 {
		t.Errorf("driver %+v, want a name and 4 rules", run.Tool.Driver)
	}
	if len(run.Results) != 2 {
		t.Fatalf("%d results, want 2 (the failures)", len(run.Results))
	}
	rules := map[string]bool{}
	for _, r := range run.Tool.Driver.Rules {
		rules[r.ID] = true
	}
	for _, r := range run.Results {
		t.Run(r.RuleID, func(t *testing.T) {
			if !rules[r.RuleID] || r.Level == "" || r.Message.Text == "" ||
				len(r.Locations) != 1 ||
				r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
				t.Errorf("incomplete result %+v", r)
			}
		})
	}
	// Rules are sorted by id: image-user-root has no title (a result
	// stored before titles were), so its id stands in.
	for i, want := range []struct{ id, text, severity string }{
		{"ftp-vsftpd-tls", "ftp-vsftpd-tls", ""},
		{"image-user-root", "image-user-root", "medium"},
		{"password-empty", "password-empty", ""},
		{"ssh-permit-root-login", "SSH server does not permit root login", "high"},
	} {
		r := run.Tool.Driver.Rules[i]
		if r.ID != want.id || r.ShortDescription.Text != want.text ||
			r.Properties.Severity != want.severity {
			t.Errorf("rule %d = %+v, want %+v", i, r, want)
		}
	}
	levels := map[string]string{}
	for _, r := range run.Results {
		levels[r.RuleID] = r.Level
	}
	if want := map[string]string{"ssh-permit-root-login": "error",
		"image-user-root": "warning"}; !maps.Equal(levels, want) {
		t.Errorf("levels %v, want %v", levels, want)
	}
	loc := run.Results[0].Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != "sha256:ab/etc/ssh/sshd_config" || loc.Region == nil ||
		loc.Region.StartLine != 3 {
		t.Errorf("ssh location = %+v", loc)
	}
}

// TestWriteTable checks that the rule table shows each rule's severity.
func TestWriteTable(t *testing.T) {
	s := report.Scan{Images: []report.Image{{Ref: "r/app:1", Digest: "sha256:ab",
		Compliance: []report.RuleResult{{Rule: "ssh-permit-root-login", Category: "ssh",
			Severity: "high", Status: "fail", Evidence: json.RawMessage(`{}`)}}}}}
	var buf bytes.Buffer
	if err := report.WriteTable(&buf, s); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, want string }{
		{"header", "RULE SEVERITY CATEGORY STATUS EVIDENCE"},
		{"row", "ssh-permit-root-login high ssh fail {}"},
	}
	text := strings.Join(strings.Fields(buf.String()), " ")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(text, tt.want) {
				t.Errorf("table lacks %q:\n%s", tt.want, buf.String())
			}
		})
	}
}
