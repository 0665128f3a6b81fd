package registry

import (
	"net/url"
	"strings"
)

// NextLink returns the target of the rel="next" link in a Link header
// value, resolved against base, the URL of the request that got it. The
// value may hold several comma-separated links.
func NextLink(value string, base *url.URL) (*url.URL, bool) {
	for value != "" {
		value = strings.TrimLeft(value, " \t,")
		if !strings.HasPrefix(value, "<") {
			return nil, false
		}
		end := strings.IndexByte(value, '>')
		if end < 0 {
			return nil, false
		}
		target := value[1:end]
		value = value[end+1:]
		params, rest := splitLinkParams(value)
		value = rest
		if !hasRel(params, "next") {
			continue
		}
		u, err := url.Parse(target)
		if err != nil {
			return nil, false
		}
		if base != nil {
			u = base.ResolveReference(u)
		}
		return u, true
	}
	return nil, false
}

// splitLinkParams returns the parameters of one link (up to the comma that
// starts the next, outside quotes) and what follows.
func splitLinkParams(s string) (map[string]string, string) {
	params := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ";") {
			return params, s
		}
		s = strings.TrimLeft(s[1:], " \t")
		var key, val string
		key, s = readToken(s)
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "=") {
			val, s = value(strings.TrimLeft(s[1:], " \t"))
		}
		if key == "" {
			return params, ""
		}
		params[strings.ToLower(key)] = val
	}
}

func hasRel(params map[string]string, rel string) bool {
	for _, r := range strings.Fields(params["rel"]) {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}

// Challenge is one WWW-Authenticate challenge.
type Challenge struct {
	// Scheme is "bearer" or "basic", lowercased.
	Scheme string
	// Params holds realm, service, scope and the rest, keys lowercased.
	Params map[string]string
}

// ParseChallenge reads the first challenge of a WWW-Authenticate header
// value, such as `Bearer realm="https://auth/token",service="reg",
// scope="repository:a/b:pull"`.
func ParseChallenge(v string) (Challenge, bool) {
	scheme, rest := readToken(strings.TrimLeft(v, " \t"))
	if scheme == "" {
		return Challenge{}, false
	}
	c := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
	for {
		rest = strings.TrimLeft(rest, " \t,")
		key, after := readToken(rest)
		after = strings.TrimLeft(after, " \t")
		if key == "" || !strings.HasPrefix(after, "=") {
			return c, true
		}
		var val string
		val, rest = value(strings.TrimLeft(after[1:], " \t"))
		c.Params[strings.ToLower(key)] = val
	}
}

// token reads an RFC 7230 token from the start of s.
func readToken(s string) (string, string) {
	i := strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// value reads a token or a quoted string, unescaping it.
func value(s string) (string, string) {
	if !strings.HasPrefix(s, `"`) {
		return readToken(s)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), ""
}
