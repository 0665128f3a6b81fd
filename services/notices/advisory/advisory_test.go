package advisory_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/notices/advisory"
)

func sample() advisory.Notice {
	return advisory.Notice{
		ID:        "DSA-5380-1",
		Source:    "debian-dsa",
		Title:     "xorg-server - security update",
		Published: time.Date(2023, 3, 29, 0, 0, 0, 0, time.UTC),
		CVEs:      []string{"CVE-2023-1393"},
		URL:       "https://security-tracker.debian.org/tracker/DSA-5380-1",
		Affected: []advisory.Affected{
			{Ecosystem: "dpkg", Release: "bullseye", Package: "xorg-server",
				Status: advisory.StatusFixed, FixedVersion: "2:1.20.11-1+deb11u6"},
			{Ecosystem: "dpkg", Release: "buster", Package: "xorg-server",
				Status: advisory.StatusNotAffected},
		},
	}
}

func TestNormalize(t *testing.T) {
	n := sample()
	n.CVEs = []string{"CVE-2023-2", "CVE-2023-1", "CVE-2023-2"}
	n.Affected[0], n.Affected[1] = n.Affected[1], n.Affected[0]
	n.Published = time.Date(2023, 3, 29, 2, 0, 0, 0, time.FixedZone("x", 7200))
	n.Normalize()

	if diff := cmp.Diff([]string{"CVE-2023-1", "CVE-2023-2"}, n.CVEs); diff != "" {
		t.Errorf("CVEs (-want +got):\n%s", diff)
	}
	if got := n.Affected[0].Release; got != "bullseye" {
		t.Errorf("first affected release = %q, want bullseye", got)
	}
	if n.Published.Location() != time.UTC || n.Published.Hour() != 0 {
		t.Errorf("published = %v, want UTC midnight", n.Published)
	}
}

func TestContentHash(t *testing.T) {
	base := sample()
	want := base.ContentHash()
	if len(want) != 64 {
		t.Fatalf("hash %q is not 64 hex digits", want)
	}
	tests := []struct {
		name   string
		change func(n *advisory.Notice)
		same   bool
	}{
		{"unchanged", func(n *advisory.Notice) {}, true},
		{"affected reordered", func(n *advisory.Notice) {
			n.Affected[0], n.Affected[1] = n.Affected[1], n.Affected[0]
		}, true},
		{"duplicate cve", func(n *advisory.Notice) { n.CVEs = append(n.CVEs, n.CVEs[0]) }, true},
		{"cves removed", func(n *advisory.Notice) { n.CVEs = []string{} }, false},
		{"summary packages ignored", func(n *advisory.Notice) {
			n.Packages = []string{"x"}
		}, true},
		{"fixed version", func(n *advisory.Notice) {
			n.Affected[0].FixedVersion = "2:1.20.11-1+deb11u7"
		}, false},
		{"status", func(n *advisory.Notice) {
			n.Affected[1].Status = advisory.StatusEndOfLife
		}, false},
		{"title", func(n *advisory.Notice) { n.Title = "xorg-server - regression update" }, false},
		{"published", func(n *advisory.Notice) {
			n.Published = n.Published.AddDate(0, 0, 1)
		}, false},
		{"cve added", func(n *advisory.Notice) {
			n.CVEs = append(n.CVEs, "CVE-2023-0001")
		}, false},
		{"affected dropped", func(n *advisory.Notice) { n.Affected = n.Affected[:1] }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := sample()
			tt.change(&n)
			got := n.ContentHash()
			if (got == want) != tt.same {
				t.Errorf("hash equal to base = %v, want %v", got == want, tt.same)
			}
		})
	}
	t.Run("empty and nil cves agree", func(t *testing.T) {
		a, b := sample(), sample()
		a.CVEs, b.CVEs = nil, []string{}
		if a.ContentHash() != b.ContentHash() {
			t.Error("nil and empty CVE lists hash differently")
		}
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(n *advisory.Notice)
		ok     bool
	}{
		{"valid", func(n *advisory.Notice) {}, true},
		{"announcement without packages", func(n *advisory.Notice) { n.Affected = nil }, true},
		{"no id", func(n *advisory.Notice) { n.ID = "" }, false},
		{"no source", func(n *advisory.Notice) { n.Source = "" }, false},
		{"fixed without version", func(n *advisory.Notice) {
			n.Affected[0].FixedVersion = ""
		}, false},
		{"version without fixed", func(n *advisory.Notice) {
			n.Affected[1].FixedVersion = "1"
		}, false},
		{"unknown status", func(n *advisory.Notice) { n.Affected[1].Status = "maybe" }, false},
		{"no package", func(n *advisory.Notice) { n.Affected[1].Package = "" }, false},
		{"pair twice", func(n *advisory.Notice) {
			n.Affected[1].Release = n.Affected[0].Release
		}, false},
		{"invalid utf-8 title", func(n *advisory.Notice) { n.Title = "bad \xff" }, false},
		{"nul in version", func(n *advisory.Notice) {
			n.Affected[0].FixedVersion = "1\x00"
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := sample()
			tt.change(&n)
			err := n.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, advisory.ErrInvalid) {
				t.Errorf("Validate() = %v, does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestStatusValid(t *testing.T) {
	for _, s := range []advisory.Status{"fixed", "unfixed", "not-affected", "will-not-fix",
		"deferred", "end-of-life", "undetermined"} {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false", s)
		}
	}
	for _, s := range []advisory.Status{"", "Fixed", "resolved"} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true", s)
		}
	}
}
