package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRunRejectsBadCommandLines(t *testing.T) {
	getenv := func(string) string { return "" }
	tests := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"scan without references", []string{"scan", "--pg-url", "postgres://x/y"}},
		{"scan with an unknown format", []string{"scan", "--format", "xml", "a:1"}},
		{"unknown flag", []string{"crawler", "--no-such-flag"}},
		{"notices load without a list", []string{"notices", "load"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			err := Run(t.Context(), tt.args, getenv, nil, &out, &errs)
			if !errors.Is(err, errUsage) {
				t.Errorf("Run(%q) = %v, want a usage error", tt.args, err)
			}
		})
	}
}

func TestRunWithoutDatabaseSaysSo(t *testing.T) {
	err := Run(t.Context(), []string{"scan", "a:1"}, func(string) string { return "" }, nil,
		&bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--pg-url") {
		t.Errorf("scan without a database: %v, want an error naming --pg-url", err)
	}
}

func TestHelpListsEveryStage(t *testing.T) {
	var out bytes.Buffer
	err := Run(t.Context(), nil, func(string) string { return "" }, nil, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"collector", "crawler", "notices", "matcher", "compliance", "all",
		"scan", "migrate"} {
		if !strings.Contains(out.String(), "  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, out.String())
		}
	}
}

func TestVersionCompareReadsPairsFromStdin(t *testing.T) {
	in := strings.NewReader("1:2.0 3.0\n1.0~rc1 1.0\n2.36-9+deb12u4 2.36-9+deb12u4\n")
	var out, errs bytes.Buffer
	err := Run(t.Context(), []string{"version", "compare", "--ecosystem", "dpkg"},
		func(string) string { return "" }, in, &out, &errs)
	if err != nil {
		t.Fatalf("version compare: %v\n%s", err, errs.String())
	}
	if got, want := out.String(), "1\n-1\n0\n"; got != want {
		t.Errorf("version compare printed %q, want %q", got, want)
	}
}
