package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Str defines a string flag whose default comes from its environment
// variable when that is set.
func Str(fs *flag.FlagSet, getenv func(string) string, p *string, name, def, usage string) {
	if v := getenv(EnvName(name)); v != "" {
		def = v
	}
	fs.StringVar(p, name, def, usage+" (env "+EnvName(name)+")")
}

// Bool defines a boolean flag with an environment fallback.
func Bool(fs *flag.FlagSet, getenv func(string) string, p *bool, name string, def bool,
	usage string) {
	if v, err := strconv.ParseBool(getenv(EnvName(name))); err == nil {
		def = v
	}
	fs.BoolVar(p, name, def, usage+" (env "+EnvName(name)+")")
}

// Int defines an integer flag with an environment fallback.
func Int(fs *flag.FlagSet, getenv func(string) string, p *int, name string, def int, usage string) {
	if v, err := strconv.Atoi(getenv(EnvName(name))); err == nil {
		def = v
	}
	fs.IntVar(p, name, def, usage+" (env "+EnvName(name)+")")
}

// Duration defines a duration flag with an environment fallback.
func Duration(fs *flag.FlagSet, getenv func(string) string, p *time.Duration, name string,
	def time.Duration, usage string) {
	if v, err := time.ParseDuration(getenv(EnvName(name))); err == nil {
		def = v
	}
	fs.DurationVar(p, name, def, usage+" (env "+EnvName(name)+")")
}

// List defines a repeatable flag collecting comma-separated values, with
// its environment fallback named env. The value already in *p is the
// default; the environment replaces it, and the first use of the flag
// replaces both.
func List(fs *flag.FlagSet, getenv func(string) string, p *[]string, name, env, usage string) {
	if v := getenv(env); v != "" {
		*p = splitList(v)
	}
	fs.Var(&listValue{p: p}, name, usage+" (env "+env+")")
}

type listValue struct {
	p   *[]string
	set bool
}

func (l *listValue) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l *listValue) Set(s string) error {
	items := splitList(s)
	if len(items) == 0 {
		return fmt.Errorf("empty list")
	}
	if !l.set {
		*l.p, l.set = nil, true
	}
	*l.p = append(*l.p, items...)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
