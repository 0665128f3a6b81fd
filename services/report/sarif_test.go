package report_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"crawlspace.dev/services/report"
)

// TestWriteSARIF checks the fields SARIF 2.1.0 requires and that each
// violation becomes a located result, while passes and n/a do not.
func TestWriteSARIF(t *testing.T) {
	s := report.Scan{Images: []report.Image{{Ref: "r/app:1", Digest: "sha256:ab",
		Compliance: []report.RuleResult{
			{Rule: "ssh-permit-root-login", Category: "ssh", Status: "fail",
				Evidence: json.RawMessage(`{"violations":[{"file":"/etc/ssh/sshd_config",
					"line":3,"value":"yes","expected":"no"}]}`)},
			{Rule: "image-user-root", Category: "image", Status: "fail",
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
					Rules []struct{ ID string }
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
			if !rules[r.RuleID] || r.Level != "error" || r.Message.Text == "" ||
				len(r.Locations) != 1 ||
				r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
				t.Errorf("incomplete result %+v", r)
			}
		})
	}
	loc := run.Results[0].Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != "sha256:ab/etc/ssh/sshd_config" || loc.Region == nil ||
		loc.Region.StartLine != 3 {
		t.Errorf("ssh location = %+v", loc)
	}
}
