package cli

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/platform/config"
)

func TestCrawlFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		want      crawler.Options
		wantUsage bool
	}{
		{"defaults", nil, nil, crawler.Options{Limits: crawler.Limits{
			ConfigFileSize: crawler.MaxConfigFileSize, PackageDBSize: crawler.MaxPackageDBSize,
			BinarySize: crawler.MaxBinarySize, ImageBytes: crawler.MaxImageBytes,
			ImageFiles: crawler.MaxImageFiles, ImageTime: crawler.MaxImageTime,
		}}, false},
		{"flags", []string{"--crawl-max-image-bytes", "1000", "--crawl-max-files", "7",
			"--crawl-timeout", "30s", "--crawl-config-paths", "/etc/a,/etc/b.d/*",
			"--crawl-platform", "all"}, nil, crawler.Options{Limits: crawler.Limits{
			ConfigFileSize: crawler.MaxConfigFileSize, PackageDBSize: crawler.MaxPackageDBSize,
			BinarySize: crawler.MaxBinarySize, ImageBytes: 1000, ImageFiles: 7,
			ImageTime: 30 * time.Second,
		}, ConfigPaths: []string{"/etc/a", "/etc/b.d/*"}, Platform: "all"}, false},
		{"environment", nil, map[string]string{
			"CRAWLSPACE_CRAWL_MAX_CONFIG_FILE_BYTES": "10",
			"CRAWLSPACE_CRAWL_MAX_PACKAGE_DB_BYTES":  "20",
			"CRAWLSPACE_CRAWL_MAX_BINARY_BYTES":      "30",
			"CRAWLSPACE_CRAWL_CONFIG_PATHS":          "/etc/x",
			"CRAWLSPACE_CRAWL_PLATFORM":              "linux/arm64/v8",
		}, crawler.Options{Limits: crawler.Limits{
			ConfigFileSize: 10, PackageDBSize: 20, BinarySize: 30,
			ImageBytes: crawler.MaxImageBytes, ImageFiles: crawler.MaxImageFiles,
			ImageTime: crawler.MaxImageTime,
		}, ConfigPaths: []string{"/etc/x"}, Platform: "linux/arm64/v8"}, false},
		{"zero bytes", []string{"--crawl-max-image-bytes", "0"}, nil, crawler.Options{}, true},
		{"negative files", []string{"--crawl-max-files", "-1"}, nil, crawler.Options{}, true},
		{"zero timeout", []string{"--crawl-timeout", "0s"}, nil, crawler.Options{}, true},
		{"relative config path", []string{"--crawl-config-paths", "etc/a"}, nil,
			crawler.Options{}, true},
		{"bad pattern", []string{"--crawl-config-paths", "/etc/[a"}, nil, crawler.Options{},
			true},
		{"bad platform", []string{"--crawl-platform", "amd64"}, nil, crawler.Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			fs := config.NewFlagSet("test", io.Discard)
			var cf crawlFlags
			cf.registerStage(fs, getenv)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := cf.validate()
			if tt.wantUsage {
				if !errors.Is(err, errUsage) {
					t.Fatalf("validate = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cf.stageOptions()
			got.AuthFiles = nil
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(crawler.Options{})); diff != "" {
				t.Errorf("options mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCrawlAuthFiles(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"home only", nil, map[string]string{"HOME": "/h"},
			[]string{"/h/.config/containers/auth.json", "/h/.docker/config.json"}},
		{"every variable", nil, map[string]string{
			"HOME": "/h", "REGISTRY_AUTH_FILE": "/r/auth.json", "XDG_RUNTIME_DIR": "/run/u",
			"XDG_CONFIG_HOME": "/cfg", "DOCKER_CONFIG": "/d",
		}, []string{"/r/auth.json", "/run/u/containers/auth.json",
			"/cfg/containers/auth.json", "/d/config.json"}},
		{"flag over REGISTRY_AUTH_FILE", []string{"--registry-auth-file", "/f.json"},
			map[string]string{"REGISTRY_AUTH_FILE": "/r/auth.json"}, []string{"/f.json"}},
		{"nothing", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			fs := config.NewFlagSet("test", io.Discard)
			var cf crawlFlags
			cf.register(fs, getenv)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cf.authFiles()); diff != "" {
				t.Errorf("auth files mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
