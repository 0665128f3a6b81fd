// Package config parses crawlspace's flags, each with an environment
// fallback named CRAWLSPACE_<FLAG> (dashes become underscores), so that a
// Helm value, an environment variable and a flag all set the same thing.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Config is what every subcommand shares. Defaults are in [Config.Register].
type Config struct {
	// PGURL is the PostgreSQL libpq URL. Empty is an error for every
	// subcommand that stores results.
	PGURL string
	// NATSURL names an external NATS server. Empty means an embedded one,
	// where the subcommand supports it.
	NATSURL string
	// NATSListen is where an embedded NATS server listens for outside
	// clients. Default 127.0.0.1:4222; empty means in-process only.
	NATSListen string
	// DataDir holds the embedded NATS server's streams. Default
	// ./crawlspace-data.
	DataDir string
	// HTTPAddr serves /metrics, /healthz and /readyz. Default :9090.
	HTTPAddr string
	// InsecureRegistries lists host:port names the crawler may reach over
	// plain HTTP. Every other registry is TLS only.
	InsecureRegistries []string
	// Migrate applies the schema on start (scan and all only).
	Migrate bool
	// LogFormat is json, text, or auto (text on a terminal, else json).
	LogFormat string
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// Workers is how many messages each stage handles at once. Default 2.
	Workers int
	// MaxAttempts is how many deliveries a message gets before it is
	// recorded as failed. Default 5.
	MaxAttempts int
	// RetryBackoff is the first retry's delay; each later one is four
	// times longer, up to a minute. Default 1s.
	RetryBackoff time.Duration
}

// Register defines the shared flags on fs, taking defaults from getenv.
func (c *Config) Register(fs *flag.FlagSet, getenv func(string) string) {
	Str(fs, getenv, &c.PGURL, "pg-url", "", "PostgreSQL URL (libpq form)")
	Str(fs, getenv, &c.NATSURL, "nats-url", "", "external NATS server URL; empty embeds one")
	Str(fs, getenv, &c.NATSListen, "nats-listen", "127.0.0.1:4222",
		"address an embedded NATS server listens on; empty for in-process only")
	Str(fs, getenv, &c.DataDir, "data-dir", "crawlspace-data",
		"directory for embedded NATS streams")
	Str(fs, getenv, &c.HTTPAddr, "http-addr", ":9090", "address for /metrics, /healthz and /readyz")
	List(fs, getenv, &c.InsecureRegistries, "insecure-registry", "CRAWLSPACE_INSECURE_REGISTRIES",
		"registry host:port allowed over plain HTTP (repeatable, or comma-separated)")
	Bool(fs, getenv, &c.Migrate, "migrate", false, "apply the database schema on start")
	Str(fs, getenv, &c.LogFormat, "log-format", "auto", "log format: auto, json or text")
	Str(fs, getenv, &c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	Int(fs, getenv, &c.Workers, "workers", 2, "messages each stage handles at once")
	Int(fs, getenv, &c.MaxAttempts, "max-attempts", 5,
		"deliveries before a message is recorded as failed")
	Duration(fs, getenv, &c.RetryBackoff, "retry-backoff", time.Second,
		"delay before the first retry")
}

// Validate returns an error for settings no subcommand can run with.
func (c *Config) Validate() error {
	var errs []error
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		errs = append(errs, fmt.Errorf("log-format %q: want auto, json or text", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers %d: want at least 1", c.Workers))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max-attempts %d: want at least 1", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// Backoff returns the retry delays implied by RetryBackoff.
func (c *Config) Backoff() []time.Duration {
	var out []time.Duration
	for d := c.RetryBackoff; ; d *= 4 {
		if d >= time.Minute || d <= 0 {
			return append(out, time.Minute)
		}
		out = append(out, d)
		if len(out) == 4 {
			return out
		}
	}
}

// EnvName returns the environment variable that falls back for flag name.
func EnvName(name string) string {
	return "CRAWLSPACE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// NewFlagSet returns a flag set for a subcommand that reports errors to the
// caller instead of exiting, and prints usage to w.
func NewFlagSet(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}
