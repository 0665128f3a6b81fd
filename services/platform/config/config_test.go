package config

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseEnvFallbackAndFlags(t *testing.T) {
	env := map[string]string{
		"CRAWLSPACE_PG_URL":              "postgres://db/crawlspace",
		"CRAWLSPACE_INSECURE_REGISTRIES": "a:5000, b:5000",
		"CRAWLSPACE_WORKERS":             "7",
		"CRAWLSPACE_MIGRATE":             "true",
	}
	tests := []struct {
		name     string
		args     []string
		pg       string
		insecure []string
		workers  int
	}{
		{"environment only", nil, "postgres://db/crawlspace", []string{"a:5000", "b:5000"}, 7},
		{"flags win", []string{"--pg-url", "postgres://other/x", "--insecure-registry", "c:1",
			"--insecure-registry", "d:2,e:3", "--workers", "3"},
			"postgres://other/x", []string{"c:1", "d:2", "e:3"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			fs := NewFlagSet("test", io.Discard)
			c.Register(fs, func(k string) string { return env[k] })
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if c.PGURL != tt.pg || !slices.Equal(c.InsecureRegistries, tt.insecure) ||
				c.Workers != tt.workers || !c.Migrate {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	c := Config{LogFormat: "xml", LogLevel: "loud", Workers: 0, MaxAttempts: 0}
	if err := c.Validate(); err == nil {
		t.Fatal("Validate accepted a config with four bad settings")
	}
}

func TestBackoff(t *testing.T) {
	c := Config{RetryBackoff: time.Second}
	want := []time.Duration{time.Second, 4 * time.Second, 16 * time.Second, time.Minute}
	if got := c.Backoff(); !slices.Equal(got, want) {
		t.Errorf("Backoff() = %v, want %v", got, want)
	}
}
