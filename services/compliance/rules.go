package compliance

import (
	"strings"

	"crawlspace.dev/services/compliance/accounts"
	"crawlspace.dev/services/compliance/sshdconfig"
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

// Paths of the captured files the rules read.
const (
	pathSSHDConfig = "/etc/ssh/sshd_config"
	pathSSHD       = "/usr/sbin/sshd"
	pathPasswd     = "/etc/passwd"
	pathShadow     = "/etc/shadow"
)

// Facts is what the rules know of an image.
type Facts struct {
	// Files maps captured configuration file paths to their content.
	Files map[string]string
	// SSHServer is true when the image has package openssh-server or the
	// file /usr/sbin/sshd.
	SSHServer bool
	// User is the image config's User, "" when unset.
	User string
}

// Rule is one best-practice check.
type Rule struct {
	// ID names the rule in rule_results, such as "ssh-permit-root-login".
	ID string
	// Category is one of the study's categories: ssh, password,
	// permissions, ftp, other, or image for the image's own configuration.
	Category string
	// Severity is high, medium or low.
	Severity string
	// Title says what the rule wants, in a few words.
	Title string

	check func(f *Facts) (Status, map[string]any)
}

// Result is a rule's outcome on one image, with the evidence behind it.
type Result struct {
	// Rule is the rule evaluated.
	Rule *Rule
	// Status is the outcome.
	Status Status
	// Evidence is a JSON object saying what was looked at and found.
	Evidence map[string]any
}

// Rules lists every rule, in evaluation order.
var Rules = []*Rule{
	{ID: "ssh-permit-root-login", Category: "ssh", Severity: "high",
		Title: "SSH server does not permit root login with a password", check: checkRootLogin},
	{ID: "password-empty", Category: "password", Severity: "high",
		Title: "No account has an empty password", check: checkEmptyPassword},
	{ID: "image-user-root", Category: "image", Severity: "medium",
		Title: "Image runs as a non-root user", check: checkImageUser},
}

// Evaluate runs every rule on f.
func Evaluate(f *Facts) []Result {
	out := make([]Result, 0, len(Rules))
	for _, r := range Rules {
		st, ev := r.check(f)
		out = append(out, Result{Rule: r, Status: st, Evidence: ev})
	}
	return out
}

// checkRootLogin fails when the first global PermitRootLogin is "yes".
// Without the keyword, OpenSSH's default prohibit-password applies.
func checkRootLogin(f *Facts) (Status, map[string]any) {
	const expected = "prohibit-password, forced-commands-only or no"
	if !f.SSHServer {
		return StatusNotApplicable, map[string]any{"file": "", "line": 0, "value": "",
			"expected": expected}
	}
	file := ""
	cfg := &sshdconfig.Config{}
	if text, ok := f.Files[pathSSHDConfig]; ok {
		file = pathSSHDConfig
		parsed, err := sshdconfig.Parse(strings.NewReader(text))
		if err != nil {
			return StatusError, map[string]any{"file": file, "line": 0, "value": "",
				"expected": expected, "error": err.Error()}
		}
		cfg = parsed
	}
	e, _ := cfg.Effective("PermitRootLogin")
	ev := map[string]any{"file": file, "line": e.Line, "value": e.Value(),
		"expected": expected}
	if strings.EqualFold(e.Value(), "yes") {
		return StatusFail, ev
	}
	return StatusPass, ev
}

// checkEmptyPassword fails when any account has an empty password.
func checkEmptyPassword(f *Facts) (Status, map[string]any) {
	passwd, ok := f.Files[pathPasswd]
	if !ok {
		return StatusNotApplicable, map[string]any{"files": []string{}, "users": []string{}}
	}
	files := []string{pathPasswd}
	if _, ok := f.Files[pathShadow]; ok {
		files = append(files, pathShadow)
	}
	users := []string{}
	for _, a := range accounts.Parse(passwd, f.Files[pathShadow]) {
		if a.State == accounts.Empty {
			users = append(users, a.Name)
		}
	}
	ev := map[string]any{"files": files, "users": users,
		"expected": "no account without a password"}
	if len(users) > 0 {
		return StatusFail, ev
	}
	return StatusPass, ev
}

// checkImageUser fails when the image runs as root: no User, "root", "0",
// or either with a group.
func checkImageUser(f *Facts) (Status, map[string]any) {
	ev := map[string]any{"value": f.User, "expected": "a non-root user"}
	user, _, _ := strings.Cut(f.User, ":")
	if user == "" || user == "root" || user == "0" {
		return StatusFail, ev
	}
	return StatusPass, ev
}
