package compliance

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
)

// costLimit bounds one expression's evaluation, so that a user's rule
// cannot stall the stage. Every built-in rule on a full Debian image stays
// far below it.
const costLimit = 50_000_000

// ruleEnv is the CEL environment rules compile in.
type ruleEnv struct {
	env *cel.Env
}

func obj(name string) *cel.Type { return cel.ObjectType("compliance." + name) }

// variables are the view's CEL variables and their types.
var variables = map[string]*cel.Type{
	"image":        obj("ImageConfig"),
	"files":        cel.ListType(obj("File")),
	"paths":        cel.MapType(cel.StringType, obj("File")),
	"packages":     cel.ListType(obj("Package")),
	"installed":    cel.MapType(cel.StringType, obj("Package")),
	"config_files": cel.MapType(cel.StringType, cel.StringType),
	"sshd":         obj("SSHD"),
	"login_defs":   obj("LoginDefs"),
	"vsftpd":       obj("VSFTPD"),
	"proftpd":      obj("ProFTPD"),
	"accounts":     obj("Accounts"),
	"pam":          obj("PAM"),
	"sudo":         obj("Sudo"),
	"inetd":        obj("Inetd"),
}

var violationType = cel.MapType(cel.StringType, cel.DynType)

func newEnv() (*ruleEnv, error) {
	opts := []cel.EnvOption{
		ext.NativeTypes(ext.ParseStructTags(true), reflect.TypeFor[ImageConfig](),
			reflect.TypeFor[File](), reflect.TypeFor[Package](), reflect.TypeFor[SSHD](),
			reflect.TypeFor[LoginDefs](), reflect.TypeFor[VSFTPD](),
			reflect.TypeFor[ProFTPD](), reflect.TypeFor[Accounts](), reflect.TypeFor[PAM](),
			reflect.TypeFor[Sudo](), reflect.TypeFor[Inetd]()),
		ext.Strings(), ext.Lists(), ext.Sets(), ext.Bindings(), cel.OptionalTypes(),
		cel.Function("violation", cel.Overload("violation_string_int_string_string",
			[]*cel.Type{cel.StringType, cel.IntType, cel.StringType, cel.StringType},
			violationType, cel.FunctionBinding(violation))),
		cel.Function("perm_exceeds", cel.Overload("perm_exceeds_int_string",
			[]*cel.Type{cel.IntType, cel.StringType}, cel.BoolType,
			cel.BinaryBinding(permBits(func(mode, mask int64) bool {
				return mode&0o7777&^mask != 0
			})))),
		cel.Function("bits_all", cel.Overload("bits_all_int_string",
			[]*cel.Type{cel.IntType, cel.StringType}, cel.BoolType,
			cel.BinaryBinding(permBits(func(mode, mask int64) bool {
				return mode&mask == mask
			})))),
		cel.Function("octal", cel.Overload("octal_string", []*cel.Type{cel.StringType},
			cel.IntType, cel.UnaryBinding(octal))),
		cel.Function("perm_any", cel.Overload("perm_any_int_string",
			[]*cel.Type{cel.IntType, cel.StringType}, cel.BoolType,
			cel.BinaryBinding(permBits(func(mode, mask int64) bool {
				return mode&mask != 0
			})))),
	}
	for name, t := range variables {
		opts = append(opts, cel.Variable(name, t))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	return &ruleEnv{env: env}, nil
}

// violation builds one violation: violation(file, line, value, expected).
func violation(args ...ref.Val) ref.Val {
	return types.DefaultTypeAdapter.NativeToValue(map[string]any{
		"file": args[0].Value(), "line": args[1].Value(), "value": args[2].Value(),
		"expected": args[3].Value()})
}

// permBits adapts a test of mode against an octal mask to CEL.
func permBits(test func(mode, mask int64) bool) func(ref.Val, ref.Val) ref.Val {
	return func(m, s ref.Val) ref.Val {
		mask, err := strconv.ParseInt(fmt.Sprint(s.Value()), 8, 64)
		if err != nil {
			return types.NewErr("octal mode %q: %v", s.Value(), err)
		}
		return types.Bool(test(m.(types.Int).Value().(int64), mask))
	}
}

// octal parses an octal string such as "027" into an int.
func octal(s ref.Val) ref.Val {
	n, err := strconv.ParseInt(fmt.Sprint(s.Value()), 8, 64)
	if err != nil {
		return types.NewErr("octal %q: %v", s.Value(), err)
	}
	return types.Int(n)
}

// program is a rule's compiled expressions and the variables they read.
type program struct {
	applies, check cel.Program
	// found is nil when the rule has no found expression.
	found cel.Program
	reads []string
}

// compile validates r and compiles its expressions.
func (r *Rule) compile(e *ruleEnv) error {
	if err := r.validate(); err != nil {
		return err
	}
	applies := r.Applies
	if applies == "" {
		applies = "true"
	}
	p := &program{}
	var reads []string
	var err error
	p.applies, reads, err = e.program("applies", applies, cel.BoolType)
	if err != nil {
		return err
	}
	p.reads = append(p.reads, reads...)
	p.check, reads, err = e.program("check", r.Check, cel.ListType(violationType))
	if err != nil {
		return err
	}
	p.reads = append(p.reads, reads...)
	if r.Found != "" {
		p.found, reads, err = e.program("found", r.Found, obj("Setting"))
		if err != nil {
			return err
		}
		p.reads = append(p.reads, reads...)
	}
	r.prog = p
	return nil
}

// program compiles one expression, which must have type want.
func (e *ruleEnv) program(what, expr string, want *cel.Type) (cel.Program, []string, error) {
	ast, iss := e.env.Compile(expr)
	if iss.Err() != nil {
		return nil, nil, fmt.Errorf("compile %s: %w", what, iss.Err())
	}
	if !want.IsAssignableType(ast.OutputType()) {
		return nil, nil, fmt.Errorf("compile %s: type %s, want %s", what, ast.OutputType(), want)
	}
	prg, err := e.env.Program(ast, cel.CostLimit(costLimit),
		cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", what, err)
	}
	var reads []string
	for _, r := range ast.NativeRep().ReferenceMap() {
		if _, ok := variables[r.Name]; ok {
			reads = append(reads, r.Name)
		}
	}
	return prg, reads, nil
}

// Violation is one piece of evidence against a rule: what was found where,
// and what was expected.
type Violation struct {
	File     string `json:"file"`
	Line     int64  `json:"line"`
	Value    string `json:"value"`
	Expected string `json:"expected"`
}

// Found is the value a passing rule judged, and where it was set.
type Found struct {
	File  string `json:"file"`
	Line  int    `json:"line"`
	Value string `json:"value"`
	// Default is true when no line sets it and the program's default holds.
	Default bool `json:"default"`
}

// Result is a rule's outcome on one image, with the evidence behind it.
type Result struct {
	// Rule is the rule evaluated.
	Rule *Rule
	// Status is the outcome.
	Status Status
	// Evidence is a JSON object: "violations" lists the [Violation]s (empty
	// on a pass), "found" is the [Found] value of a pass when the rule
	// names one, "error" says why the rule could not be evaluated.
	Evidence map[string]any
}

// Evaluate runs every rule of s on v.
func (s *RuleSet) Evaluate(v *View) []Result {
	out := make([]Result, 0, len(s.rules))
	for _, r := range s.rules {
		out = append(out, r.evaluate(v))
	}
	return out
}

func (r *Rule) evaluate(v *View) Result {
	res := Result{Rule: r, Status: StatusError}
	for _, name := range r.prog.reads {
		if msg, ok := v.errs[name]; ok {
			res.Evidence = map[string]any{"error": msg}
			return res
		}
	}
	ok, _, err := r.prog.applies.Eval(v.vars)
	if err != nil {
		res.Evidence = map[string]any{"error": "applies: " + err.Error()}
		return res
	}
	if ok != types.True {
		res.Status, res.Evidence = StatusNotApplicable, map[string]any{}
		return res
	}
	got, _, err := r.prog.check.Eval(v.vars)
	if err != nil {
		res.Evidence = map[string]any{"error": "check: " + err.Error()}
		return res
	}
	vs, err := violations(got)
	if err != nil {
		res.Evidence = map[string]any{"error": "check: " + err.Error()}
		return res
	}
	res.Status = StatusPass
	if len(vs) > 0 {
		res.Status = StatusFail
	}
	res.Evidence = map[string]any{"violations": vs}
	if res.Status == StatusPass && r.prog.found != nil {
		f, err := r.found(v)
		if err != nil {
			return Result{Rule: r, Status: StatusError,
				Evidence: map[string]any{"error": "found: " + err.Error()}}
		}
		res.Evidence["found"] = f
	}
	return res
}

// found evaluates r's found expression.
func (r *Rule) found(v *View) (Found, error) {
	got, _, err := r.prog.found.Eval(v.vars)
	if err != nil {
		return Found{}, err
	}
	native, err := got.ConvertToNative(reflect.TypeFor[Setting]())
	if err != nil {
		return Found{}, err
	}
	s, ok := native.(Setting)
	if !ok {
		return Found{}, fmt.Errorf("result is %T, not a Setting", native)
	}
	return Found{File: s.File, Line: s.Line, Value: s.Value, Default: s.IsDefault}, nil
}

// violations converts a check's result into Go values.
func violations(v ref.Val) ([]Violation, error) {
	l, ok := v.(traits.Lister)
	if !ok {
		return nil, fmt.Errorf("result is %s, not a list", v.Type())
	}
	out := []Violation{}
	for it := l.Iterator(); it.HasNext() == types.True; {
		m, ok := it.Next().(traits.Mapper)
		if !ok {
			return nil, errors.New("violation is not a map")
		}
		var vi Violation
		var err error
		vi.File, err = field[string](m, "file")
		if err == nil {
			vi.Line, err = field[int64](m, "line")
		}
		if err == nil {
			vi.Value, err = field[string](m, "value")
		}
		if err == nil {
			vi.Expected, err = field[string](m, "expected")
		}
		if err != nil {
			return nil, err
		}
		out = append(out, vi)
	}
	// CEL iterates maps in no fixed order; sorted evidence keeps an
	// unchanged result byte-identical, so that checked_at stays put.
	slices.SortFunc(out, func(a, b Violation) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			strings.Compare(a.Value, b.Value), strings.Compare(a.Expected, b.Expected))
	})
	return slices.Compact(out), nil
}

// field reads key of m as a T; a missing key is T's zero value.
func field[T any](m traits.Mapper, key string) (T, error) {
	var zero T
	v, found := m.Find(types.String(key))
	if !found {
		return zero, nil
	}
	t, ok := v.Value().(T)
	if !ok {
		return zero, fmt.Errorf("violation %s is %s, want %T", key, v.Type(), zero)
	}
	return t, nil
}
