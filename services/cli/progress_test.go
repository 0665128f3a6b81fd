package cli

import (
	"bytes"
	"strings"
	"testing"

	"crawlspace.dev/services/crawler"
)

func TestProgressBarDrawsAndClears(t *testing.T) {
	var out bytes.Buffer
	pb := &progressBar{w: &out}
	d := "sha256:" + strings.Repeat("ab", 32)
	pb.report(crawler.Progress{Layer: 1, Layers: 2, Digest: d, Read: 1 << 20, Size: 4 << 20})
	pb.report(crawler.Progress{Layer: 1, Layers: 2, Digest: d, Read: 4 << 20, Size: 4 << 20})
	pb.done()
	got := out.String()
	for _, want := range []string{"layer 1/2 sha256:abababababab",
		"[#####               ] 1.0/4.0 MB", "[####################] 4.0/4.0 MB"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress output %q lacks %q", got, want)
		}
	}
	if !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress output %q does not end by clearing its line", got)
	}
}

func TestBarWithoutSize(t *testing.T) {
	if got := bar(3<<20, 0); got != "3.0 MB" {
		t.Errorf("bar of an unknown size = %q", got)
	}
}
