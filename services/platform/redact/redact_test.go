package redact

import (
	"fmt"
	"net/url"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:secret@example.test/list?token=abc#frag", "https://example.test/list"},
		{"http://example.test:8080/a/b", "http://example.test:8080/a/b"},
		{"/var/lib/feeds/DSA-list", "/var/lib/feeds/DSA-list"},
		{"https://bad host/", "(unparsable URL)"},
		{"http://[::1/list", "(unparsable URL)"},
		{"ftp://user:pw@mirror.example/x", "ftp://mirror.example/x"},
		{"file:DSA-list", "file:DSA-list"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := URL(tt.in); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsedLeavesItsArgumentAlone(t *testing.T) {
	u, _ := url.Parse("https://user:secret@example.test/?k=v")
	if got := Parsed(u); got != "https://example.test/" {
		t.Errorf("Parsed = %q", got)
	}
	if u.User == nil || u.RawQuery != "k=v" {
		t.Error("Parsed changed its argument")
	}
}

func ExampleURL() {
	fmt.Println(URL("https://ci:hunter2@feeds.example/list?sig=1"))
	// Output: https://feeds.example/list
}
