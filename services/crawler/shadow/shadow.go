// Package shadow redacts /etc/shadow so that its content can be stored
// without its password hashes.
package shadow

import "strings"

// Hashed replaces a password field that holds a hash or any other secret.
const Hashed = "<hashed>"

// Redact returns content with every line's password field (the second,
// colon-separated) reduced to its state: "" when it was empty, "!" when it
// began with "!" (locked), "*" when it began with "*", and [Hashed] for any
// other value. Every other field and the line structure are kept. A line
// without a colon has no named field to keep and could be a stray secret, so
// it becomes empty.
func Redact(content string) string {
	lines := strings.Split(content, "\n")
	for i, line := range lines {
		lines[i] = redactLine(line)
	}
	return strings.Join(lines, "\n")
}

// redactLine redacts one shadow entry.
func redactLine(line string) string {
	name, rest, ok := strings.Cut(line, ":")
	if !ok {
		return ""
	}
	password, tail, hasTail := strings.Cut(rest, ":")
	out := name + ":" + State(password)
	if hasTail {
		out += ":" + tail
	}
	return out
}

// State reduces one password field to what may be stored: "", "!", "*" or
// [Hashed].
func State(password string) string {
	switch {
	case password == "":
		return ""
	case strings.HasPrefix(password, "!"):
		return "!"
	case strings.HasPrefix(password, "*"):
		return "*"
	default:
		return Hashed
	}
}
