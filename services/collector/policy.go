package collector

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policy chooses which of a repository's tags a run names. Parse one with
// [ParsePolicy]; the zero value is "latest".
type Policy struct {
	kind   string // latest, all, recent, regexp
	n      int
	re     *regexp.Regexp
	source string
}

// ParsePolicy reads a tag policy: "latest" (the latest tag, when the
// repository has one), "all", "recent:N" (the N most recently created) or
// "regexp:RE" (tags RE matches in full). Empty means latest.
func ParsePolicy(s string) (Policy, error) {
	kind, arg, _ := strings.Cut(s, ":")
	p := Policy{kind: kind, source: s}
	switch kind {
	case "", "latest":
		p.kind, p.source = "latest", "latest"
	case "all":
	case "recent":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			return Policy{}, fmt.Errorf("tag policy %q: want recent:N with N at least 1", s)
		}
		p.n = n
	case "regexp":
		re, err := regexp.Compile(`^(?:` + arg + `)$`)
		if err != nil {
			return Policy{}, fmt.Errorf("tag policy %q: %w", s, err)
		}
		p.re = re
	default:
		return Policy{}, fmt.Errorf("tag policy %q: want latest, all, recent:N or regexp:RE", s)
	}
	return p, nil
}

// String returns the policy as ParsePolicy reads it.
func (p Policy) String() string {
	if p.source == "" {
		return "latest"
	}
	return p.source
}

// NeedsList reports whether the policy must see the tag list; "latest"
// can name the tag without listing, where a source allows it.
func (p Policy) NeedsList() bool { return p.kind != "" && p.kind != "latest" }

// Created returns when a tag's image was created; the zero time when it
// does not say.
type Created func(ctx context.Context, tag string) (time.Time, error)

// Select returns the tags of listed (in the registry's listing order) that
// the policy names. For recent:N it orders tags by created, newest first;
// tags whose image has no creation time follow in listing order.
func (p Policy) Select(ctx context.Context, listed []string, created Created) ([]string, error) {
	switch p.kind {
	case "", "latest":
		if slices.Contains(listed, "latest") {
			return []string{"latest"}, nil
		}
		return nil, nil
	case "all":
		return slices.Clone(listed), nil
	case "regexp":
		var out []string
		for _, t := range listed {
			if p.re.MatchString(t) {
				out = append(out, t)
			}
		}
		return out, nil
	}
	return p.recent(ctx, listed, created)
}

func (p Policy) recent(ctx context.Context, listed []string, created Created) ([]string, error) {
	type dated struct {
		tag string
		at  time.Time
	}
	ds := make([]dated, 0, len(listed))
	for _, t := range listed {
		at, err := created(ctx, t)
		if err != nil {
			return nil, err
		}
		ds = append(ds, dated{t, at})
	}
	slices.SortStableFunc(ds, func(a, b dated) int {
		switch {
		case a.at.IsZero() || b.at.IsZero():
			return boolCmp(a.at.IsZero(), b.at.IsZero())
		default:
			return b.at.Compare(a.at)
		}
	})
	out := make([]string, 0, min(p.n, len(ds)))
	for _, d := range ds[:min(p.n, len(ds))] {
		out = append(out, d.tag)
	}
	return out, nil
}

// boolCmp orders false before true.
func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}
