package registry

import (
	"encoding/json"
	"net/url"
	"os"
	"testing"

	"crawlspace.dev/services/platform/fixtures"
)

func TestNextLinkRecordedHeaders(t *testing.T) {
	tests := []struct {
		file     string
		wantNext bool
		wantN    string
	}{
		{"pagination-headers-next_link.json", true, "3"},
		{"pagination-headers-no_next_link.json", false, ""},
	}
	base, _ := url.Parse("https://registry.hub.docker.com/v2/library/ubuntu/tags/list?n=3")
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(fixtures.Path(t, "dockerhub/registry-v2/tags-list/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var h struct {
				Link string `json:"link"`
			}
			if err := json.Unmarshal(data, &h); err != nil {
				t.Fatal(err)
			}
			next, ok := NextLink(h.Link, base)
			if ok != tt.wantNext {
				t.Fatalf("NextLink(%q) ok = %v, want %v", h.Link, ok, tt.wantNext)
			}
			if !ok {
				return
			}
			if next.Host != "registry.hub.docker.com" ||
				next.Path != "/v2/library/ubuntu/tags/list" ||
				next.Query().Get("n") != tt.wantN || len(next.Query().Get("last")) < 100 {
				t.Errorf("next = %s", next)
			}
		})
	}
}

func TestNextLink(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:5000/v2/_catalog?n=2")
	tests := []struct {
		name, header, want string
	}{
		{"distribution relative", `</v2/_catalog?last=a%2Fb&n=2>; rel="next"`,
			"http://127.0.0.1:5000/v2/_catalog?last=a%2Fb&n=2"},
		{"unquoted rel", `</v2/_catalog?last=x>; rel=next`,
			"http://127.0.0.1:5000/v2/_catalog?last=x"},
		{"second of two links", `<http://other/prev>; rel="prev", <http://other/next>; rel="next"`,
			"http://other/next"},
		{"rel list", `</n>; title="a, b"; rel="last next"`, "http://127.0.0.1:5000/n"},
		{"no next", `</p>; rel="prev"`, ""},
		{"empty", ``, ""},
		{"garbage", `rel="next"`, ""},
		{"unterminated", `</v2/_catalog; rel="next"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ok := NextLink(tt.header, base)
			got := ""
			if ok {
				got = next.String()
			}
			if got != tt.want {
				t.Errorf("NextLink(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name, header, scheme string
		params               map[string]string
	}{
		{"docker hub", `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",` +
			`scope="repository:library/ubuntu:pull"`, "bearer", map[string]string{
			"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
			"scope": "repository:library/ubuntu:pull"}},
		{"comma inside quotes", `Bearer realm="http://a/token", scope="repository:x:pull,push"`,
			"bearer", map[string]string{"realm": "http://a/token",
				"scope": "repository:x:pull,push"}},
		{"basic", `Basic realm="crawlspace-test"`, "basic",
			map[string]string{"realm": "crawlspace-test"}},
		{"escaped quote", `Bearer realm="a\"b"`, "bearer", map[string]string{"realm": `a"b`}},
		{"scheme only", `Basic`, "basic", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := ParseChallenge(tt.header)
			if !ok || c.Scheme != tt.scheme || len(c.Params) != len(tt.params) {
				t.Fatalf("ParseChallenge(%q) = %+v, %v", tt.header, c, ok)
			}
			for k, v := range tt.params {
				if c.Params[k] != v {
					t.Errorf("param %s = %q, want %q", k, c.Params[k], v)
				}
			}
		})
	}
	if _, ok := ParseChallenge(""); ok {
		t.Error("ParseChallenge accepted an empty header")
	}
}

func FuzzNextLink(f *testing.F) {
	f.Add(`</v2/_catalog?last=a&n=2>; rel="next"`)
	f.Add(`<http://x/p>; rel="prev", <http://x/n>; rel=next; title="a;b"`)
	base, _ := url.Parse("http://127.0.0.1:5000/v2/_catalog")
	f.Fuzz(func(t *testing.T, header string) {
		if next, ok := NextLink(header, base); ok && next == nil {
			t.Fatal("ok with a nil URL")
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(`Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"`)
	f.Add(`Basic realm="x\"`)
	f.Fuzz(func(t *testing.T, header string) {
		if c, ok := ParseChallenge(header); ok && (c.Scheme == "" || c.Params == nil) {
			t.Fatalf("ok with %+v", c)
		}
	})
}

func TestTagListFixtures(t *testing.T) {
	tests := []struct {
		file, name string
		min        int
	}{
		{"ubuntu.json", "library/ubuntu", 50},
		{"python.json", "library/python", 50},
		{"dotnet_page_1.json", "microsoft/dotnet", 50},
		{"dotnet_page_2.json", "microsoft/dotnet", 50},
		{"windows-servercore.json", "windows/servercore", 50},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(fixtures.Path(t, "dockerhub/registry-v2/tags-list/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var tl TagList
			if err := json.Unmarshal(data, &tl); err != nil {
				t.Fatal(err)
			}
			if (tt.name != "" && tl.Name != tt.name) || len(tl.Tags) < tt.min {
				t.Errorf("%s: name %q, %d tags", tt.file, tl.Name, len(tl.Tags))
			}
		})
	}
}
