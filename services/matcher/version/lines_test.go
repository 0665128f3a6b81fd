package version_test

import (
	"errors"
	"strings"
	"testing"

	"crawlspace.dev/services/matcher/version"
)

func TestCompareLines(t *testing.T) {
	tests := []struct {
		name, ecosystem, in, out, errOut string
		wantErr                          bool
	}{
		{"dpkg pairs", "dpkg", "1.0 1.0~rc1\n1:1.0 2.0\n1.0 0:1.0\n", "1\n1\n0\n", "", false},
		{"blank and comment lines", "rpm", "\n# header\n1.0^git1 1.0.1\n", "-1\n", "", false},
		{"bad line reported, others answered", "apk", "1.0 1.1\nbogus\n1.6_rc1 1.6\n",
			"-1\n-1\n", "line 2: want two versions, got 1 fields\n", true},
		{"invalid version", "go", "v1.0.0 x.y\n", "",
			`line 1: compare "v1.0.0" "x.y": invalid go module version: "x.y"` + "\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := version.For(tt.ecosystem)
			var out, errOut strings.Builder
			err := version.CompareLines(strings.NewReader(tt.in), &out, &errOut, s)
			if tt.wantErr != errors.Is(err, version.ErrBadLines) {
				t.Errorf("err = %v, want bad lines %v", err, tt.wantErr)
			}
			if out.String() != tt.out || errOut.String() != tt.errOut {
				t.Errorf("out %q err %q; want %q and %q", out.String(), errOut.String(),
					tt.out, tt.errOut)
			}
		})
	}
}
