package crawler

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Redacted replaces a secret environment value in a stored config.
const Redacted = "<redacted>"

var (
	// secretNameRE matches environment variable names that hold secrets.
	secretNameRE = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|_KEY$|^AWS_|` +
		`CREDENTIAL|API_?KEY|PRIVATE)`)
	// secretValueRE matches values that look like keys or tokens whatever
	// their name: PEM private keys, AWS access key ids, GitHub, Slack and
	// GitLab tokens, JWTs, and URLs with a password.
	secretValueRE = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY|` +
		`\b(AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36,}|\bxox[abprs]-[A-Za-z0-9-]{10,}|` +
		`\bglpat-[A-Za-z0-9_-]{20,}|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.|` +
		`[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@`)
)

// IsSecretEnv reports whether an environment variable's value must not be
// stored, by its name or its value.
func IsSecretEnv(name, value string) bool {
	return value != "" && (secretNameRE.MatchString(name) || secretValueRE.MatchString(value))
}

// RedactEnv returns env ("NAME=value" entries) with secret values replaced
// by [Redacted]; names are kept.
func RedactEnv(env []string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if IsSecretEnv(name, value) {
			kv = name + "=" + Redacted
		}
		out[i] = kv
	}
	return out
}

// RedactConfig returns the image config JSON with the secret values of
// config.Env redacted and everything else as it was. A config that does not
// parse as JSON is returned unchanged (it is stored escaped as text).
func RedactConfig(cfg []byte) []byte {
	var doc map[string]json.RawMessage
	if json.Unmarshal(cfg, &doc) != nil {
		return cfg
	}
	changed := false
	for _, key := range []string{"config", "container_config"} {
		raw, ok := doc[key]
		if !ok {
			continue
		}
		if red, ok := redactSection(raw); ok {
			doc[key], changed = red, true
		}
	}
	if !changed {
		return cfg
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return cfg
	}
	return out
}

// redactSection redacts the Env of one config section; ok is false when
// nothing changed.
func redactSection(raw json.RawMessage) (json.RawMessage, bool) {
	var sec map[string]json.RawMessage
	if json.Unmarshal(raw, &sec) != nil {
		return nil, false
	}
	var env []string
	if json.Unmarshal(sec["Env"], &env) != nil || len(env) == 0 {
		return nil, false
	}
	red := RedactEnv(env)
	if strings.Join(red, "\x00") == strings.Join(env, "\x00") {
		return nil, false
	}
	data, err := json.Marshal(red)
	if err != nil {
		return nil, false
	}
	sec["Env"] = data
	out, err := json.Marshal(sec)
	if err != nil {
		return nil, false
	}
	return out, true
}
