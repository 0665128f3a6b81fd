package collector

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestPolicySelect(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	created := map[string]time.Time{"1.0": day(1), "1.1": day(3), "2.0": day(9),
		"latest": day(9), "edge": {}, "old": {}}
	listed := []string{"1.0", "1.1", "2.0", "edge", "latest", "old"}
	lookup := func(_ context.Context, tag string) (time.Time, error) { return created[tag], nil }
	tests := []struct {
		policy string
		listed []string
		want   []string
	}{
		{"latest", listed, []string{"latest"}},
		{"", listed, []string{"latest"}},
		{"latest", []string{"1.0"}, nil},
		{"all", listed, listed},
		{"recent:2", listed, []string{"2.0", "latest"}},
		{"recent:4", listed, []string{"2.0", "latest", "1.1", "1.0"}},
		{"recent:6", listed, []string{"2.0", "latest", "1.1", "1.0", "edge", "old"}},
		{"recent:10", []string{"old", "edge"}, []string{"old", "edge"}},
		{"regexp:1\\.[0-9]", listed, []string{"1.0", "1.1"}},
		{"regexp:1", listed, nil},
		{"regexp:.*", listed, listed},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			p, err := ParsePolicy(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Select(t.Context(), tt.listed, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParsePolicyRejects(t *testing.T) {
	for _, s := range []string{"recent", "recent:0", "recent:x", "regexp:(", "newest"} {
		t.Run(s, func(t *testing.T) {
			if _, err := ParsePolicy(s); err == nil {
				t.Errorf("ParsePolicy(%q) accepted it", s)
			}
		})
	}
}
