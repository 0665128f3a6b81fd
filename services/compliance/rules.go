package compliance

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Status is the outcome of one rule on one image.
type Status string

// Rule outcomes, as the rule_results table stores them.
const (
	StatusPass          Status = "pass"
	StatusFail          Status = "fail"
	StatusNotApplicable Status = "not-applicable"
	StatusError         Status = "error"
)

// Categories are the rule categories: the study's five and image, for the
// image's own configuration.
var Categories = []string{"ssh", "password", "permissions", "ftp", "other", "image"}

// Severities are the allowed rule severities, most severe first.
var Severities = []string{"critical", "high", "medium", "low", "info"}

//go:embed rules/*.yaml
var builtin embed.FS

// Rule is one best-practice check, as a rules file declares it.
type Rule struct {
	// ID names the rule in rule_results, such as "ssh-permit-root-login":
	// lowercase letters, digits and dashes.
	ID string `yaml:"id"`
	// Category is one of [Categories].
	Category string `yaml:"category"`
	// Severity is one of [Severities].
	Severity string `yaml:"severity"`
	// Title says what the rule wants, in a few words.
	Title string `yaml:"title"`
	// Rationale says why it matters.
	Rationale string `yaml:"rationale"`
	// References cite benchmarks, such as "CIS Docker 1.6.0 4.1" or
	// "DISA STIG V-238218".
	References []string `yaml:"references"`
	// Dockle lists the Dockle checkpoints the rule covers.
	Dockle []string `yaml:"dockle"`
	// Applies is a CEL condition; when false the rule is not applicable.
	// Empty means true.
	Applies string `yaml:"applies"`
	// Check is a CEL expression returning the list of violations, each a
	// map with file, line, value and expected (see violation()); an empty
	// list passes.
	Check string `yaml:"check"`
	// Found is an optional CEL expression of type compliance.Setting: the
	// value the rule judged. On a pass it is kept as the evidence's
	// "found", so that a pass says what it saw and where.
	Found string `yaml:"found"`
	// Source is the file the rule was read from.
	Source string `yaml:"-"`

	prog *program
}

// RuleSet is a compiled list of rules, in evaluation order. It is safe for
// concurrent use.
type RuleSet struct {
	rules []*Rule
}

// Rules returns the rules in evaluation order.
func (s *RuleSet) Rules() []*Rule { return slices.Clone(s.rules) }

// Lookup returns the rule with id.
func (s *RuleSet) Lookup(id string) (*Rule, bool) {
	i := slices.IndexFunc(s.rules, func(r *Rule) bool { return r.ID == id })
	if i < 0 {
		return nil, false
	}
	return s.rules[i], true
}

// rulesFile is the form of a rules YAML file.
type rulesFile struct {
	Rules []*Rule `yaml:"rules"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Builtin returns the embedded rules.
func Builtin() (*RuleSet, error) { return LoadRules() }

// LoadRules compiles the embedded rules and then those in the *.yaml and
// *.yml files of dirs, read in lexical order. A rule whose id another
// directory's rule or a built-in already has replaces it; a repeated id
// within one directory is an error. Every problem found is reported, each
// with its file and rule id.
func LoadRules(dirs ...string) (*RuleSet, error) {
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("build rule environment: %w", err)
	}
	set := &RuleSet{}
	var errs []error
	errs = append(errs, set.addFS(env, builtin, "rules", "builtin:")...)
	for _, d := range dirs {
		errs = append(errs, set.addFS(env, os.DirFS(d), ".", d+string(filepath.Separator))...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	return set, nil
}

// addFS adds the rules of the YAML files in dir of fsys; prefix names the
// files in errors and in Rule.Source.
func (s *RuleSet) addFS(env *ruleEnv, fsys fs.FS, dir, prefix string) []error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return []error{fmt.Errorf("read %s: %w", prefix, err)}
	}
	var errs []error
	seen := map[string]string{}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		name := prefix + n
		rules, err := readRulesFile(fsys, path.Join(dir, n))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, r := range rules {
			r.Source = name
			if other, ok := seen[r.ID]; ok && r.ID != "" {
				errs = append(errs, fmt.Errorf("%s: rule %s: id also in %s", name, r.ID, other))
				continue
			}
			seen[r.ID] = name
			if err := r.compile(env); err != nil {
				errs = append(errs, fmt.Errorf("%s: rule %s: %w", name, r.ID, err))
				continue
			}
			s.put(r)
		}
	}
	return errs
}

func readRulesFile(fsys fs.FS, name string) ([]*Rule, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var rf rulesFile
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return rf.Rules, nil
}

// put adds r, replacing a rule with the same id in place.
func (s *RuleSet) put(r *Rule) {
	i := slices.IndexFunc(s.rules, func(o *Rule) bool { return o.ID == r.ID })
	if i >= 0 {
		s.rules[i] = r
		return
	}
	s.rules = append(s.rules, r)
}

// validate checks a rule's fields other than its expressions.
func (r *Rule) validate() error {
	var errs []error
	if !idPattern.MatchString(r.ID) {
		errs = append(errs, fmt.Errorf("id %q: want lowercase words joined by dashes", r.ID))
	}
	if !slices.Contains(Categories, r.Category) {
		errs = append(errs, fmt.Errorf("category %q: want one of %s", r.Category,
			strings.Join(Categories, ", ")))
	}
	if !slices.Contains(Severities, r.Severity) {
		errs = append(errs, fmt.Errorf("severity %q: want one of %s", r.Severity,
			strings.Join(Severities, ", ")))
	}
	if strings.TrimSpace(r.Title) == "" {
		errs = append(errs, errors.New("no title"))
	}
	if strings.TrimSpace(r.Check) == "" {
		errs = append(errs, errors.New("no check"))
	}
	return errors.Join(errs...)
}
