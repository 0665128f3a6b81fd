package notices

import "testing"

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"path", "/data/DSA/list", "/data/DSA/list"},
		{"plain url", "https://salsa.debian.org/x/list", "https://salsa.debian.org/x/list"},
		{"userinfo", "https://user:pw@mirror.example/list", "https://mirror.example/list"},
		{"query", "http://mirror.example/list?token=abc#f", "http://mirror.example/list"},
		{"unparsable", "http://[::1/list", "(unparsable URL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.in); got != tt.want {
				t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
