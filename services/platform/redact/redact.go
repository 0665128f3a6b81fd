// Package redact keeps credentials out of logs and error messages.
package redact

import (
	"net/url"
	"strings"
)

// IsURL reports whether location is an http or https URL rather than a
// file path.
func IsURL(location string) bool {
	return strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://")
}

// URL returns location without the parts of a URL that may hold
// credentials: userinfo, query and fragment. A location without "://",
// such as a file path, is returned as it is; a URL that does not parse
// becomes "(unparsable URL)".
func URL(location string) string {
	if !strings.Contains(location, "://") {
		return location
	}
	u, err := url.Parse(location)
	if err != nil {
		return "(unparsable URL)"
	}
	return Parsed(u)
}

// Parsed is [URL] for a URL already parsed; u is not changed.
func Parsed(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}
