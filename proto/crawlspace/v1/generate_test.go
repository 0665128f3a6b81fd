package crawlspacev1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates the Go code with buf into a copy of
// the module and fails when it differs from the committed events.pb.go.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	for _, tool := range []string{"buf", "protoc-gen-go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not on PATH; scripts/test.sh installs it", tool)
			}
			t.Skipf("%s is not on PATH; run scripts/test.sh", tool)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, f := range []string{"buf.yaml", "buf.gen.yaml", "crawlspace/v1/events.proto"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(tmp, f))
	}
	cmd := exec.Command("buf", "generate")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "BUF_CACHE_DIR="+filepath.Join(tmp, ".cache"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buf generate: %v\n%s", err, out)
	}
	want, err := os.ReadFile(filepath.Join(tmp, "crawlspace/v1/events.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("events.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("events.pb.go is stale: run `buf generate` in proto/ and commit the result")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
