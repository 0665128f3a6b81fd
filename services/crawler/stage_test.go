package crawler_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/crawler"
	"crawlspace.dev/services/internal/ocitest"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/fixtures"
	"crawlspace.dev/services/platform/store"
	"crawlspace.dev/services/platform/store/storetest"
)

// A sha512-crypt hash that must never reach the database.
const rootHash = "$6$Zp5Qd3x1$PRw8aPj0mHq1Y1c7oVn9lQ5m3uC0S6xDkYV1lTg5hN4eF2rB8sJ7wK9zX0aQ3" +
	"vL6mT1yU4iO7pE2dG5hJ8k"

// stageImage builds the stage tests' image: a Debian os-release, the real
// Debian 12 dpkg status excerpt, alpine's real passwd and a shadow with a
// hash.
func stageImage(t *testing.T) []ocitest.Layer {
	t.Helper()
	status, err := os.ReadFile(fixtures.Path(t, "pkgdb/dpkg/debian-12-gce-subset.status"))
	if err != nil {
		t.Fatal(err)
	}
	passwd, err := os.ReadFile(fixtures.Path(t, "configs/alpine-3.10.4-etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	base := gzLayer(t,
		entry{Name: "etc/"},
		entry{Name: "usr/lib/os-release", Body: osRelease},
		entry{Name: "etc/os-release", Type: '2', Link: "../usr/lib/os-release"},
		entry{Name: "etc/passwd", Body: string(passwd)},
		entry{Name: "etc/shadow", Body: "root:" + rootHash + ":19000:0:99999:7:::\n" +
			"daemon:*:19000:0:99999:7:::\n", Mode: 0o640, GID: 42},
		entry{Name: "var/lib/dpkg/status", Body: string(status)},
	)
	return []ocitest.Layer{base, gzLayer(t, entry{Name: "app/run.sh", Body: "#!/bin/sh\n",
		Mode: 0o755})}
}

// snapshot returns every row the crawler writes, as JSON text in a fixed
// order, volatile ids left in (they must not change either).
func snapshot(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	tables := []string{"images", "layers", "image_layers", "image_packages", "image_files",
		"image_config_files", "repositories", "tag_observations", "repository_popularity"}
	out := make(map[string][]string)
	for _, table := range tables {
		rows, err := pool.Query(t.Context(),
			"SELECT to_jsonb(t)::text FROM "+table+" t ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestHandleNamed(t *testing.T) {
	b := bustest.New(t)
	reg := ocitest.Env(t, "CRAWLSPACE_TEST_REGISTRY")
	suffix := randomName(t)

	layers := stageImage(t)
	pushed := ocitest.Push(t, reg, "crawlspace-test/stage-"+suffix, "v1",
		ocitest.Build(t, "1000:1000", layers...))
	tests := []struct {
		name string
		ref  string
		repo bool
	}{
		{"oci layout", ocitest.Write(t, t.TempDir(), "v1", "1000:1000", layers...), false},
		{"registry", "docker://" + reg + "/crawlspace-test/stage-" + suffix + ":v1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, _ := storetest.New(t)
			st := crawler.New(pool, b, crawler.Options{InsecureRegistries: []string{reg}})
			named := &crawlspacev1.ImageNamed{
				Ref: tt.ref, RunId: "run-" + tt.name,
				NamedAt: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
				Popularity: &crawlspacev1.Popularity{Official: true, Publisher: "crawlspace",
					PullCount: 12345, StarCount: 6, Bucket: "10K+"},
			}
			events := watchCrawled(t, b)
			handleViaBus(t, b, pool, st, named)
			ev := nextCrawled(t, events)
			first := snapshot(t, pool)
			checkStored(t, first, ev, named, tt.repo)
			// Both transports read the same manifest.
			checkRow(t, first["images"], `"digest": "`+pushed+`"`)

			// A redelivery must leave the database as it was.
			data, err := protojson.Marshal(named)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.HandleNamed(t.Context(), &bus.Message{Subject: "image.named",
				Data: data, Attempt: 2}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(first, snapshot(t, pool)); diff != "" {
				t.Errorf("second handling changed the database (-first +second):\n%s", diff)
			}
			again := nextCrawled(t, events)
			if diff := cmp.Diff(ev, again, cmpProto()); diff != "" {
				t.Errorf("second event differs (-first +second):\n%s", diff)
			}
		})
	}
}

// checkStored asserts the stored facts of the stage image and its event.
func checkStored(t *testing.T, rows map[string][]string, ev *crawlspacev1.ImageCrawled,
	named *crawlspacev1.ImageNamed, repo bool) {
	t.Helper()
	if !strings.HasPrefix(ev.GetDigest(), "sha256:") || ev.GetRunId() != named.GetRunId() ||
		ev.GetRef() != named.GetRef() {
		t.Errorf("event %v does not match %v", ev, named)
	}
	wantOS := &crawlspacev1.OS{Id: "debian", VersionId: "12", Codename: "bookworm"}
	if diff := cmp.Diff(wantOS, ev.GetOs(), cmpProto()); diff != "" {
		t.Errorf("event OS mismatch (-want +got):\n%s", diff)
	}
	if ev.GetPackageCount() != 7 || len(rows["image_packages"]) != 7 {
		t.Errorf("package count %d, %d rows; want the fixture's 7",
			ev.GetPackageCount(), len(rows["image_packages"]))
	}
	all := strings.Join(rows["image_config_files"], "\n")
	if strings.Contains(all, rootHash) || strings.Contains(all, "$6$") {
		t.Error("the shadow hash reached image_config_files")
	}
	if !strings.Contains(all, `root:<hashed>:19000`) || !strings.Contains(all, "daemon:*:") {
		t.Errorf("shadow not stored redacted: %s", all)
	}
	if len(rows["image_config_files"]) != 4 {
		t.Errorf("got %d config files, want os-release twice, passwd and shadow",
			len(rows["image_config_files"]))
	}
	checkRow(t, rows["image_packages"], `"name": "util-linux-extra"`,
		`"source_name": "util-linux"`, `"source_version": "2.38.1-5"`, `"ecosystem": "dpkg"`)
	checkRow(t, rows["image_files"], `"path": "/etc/shadow"`, `"mode": 416`, `"gid": 42`)
	checkRow(t, rows["images"], `"os_codename": "bookworm"`, `"User": "1000:1000"`,
		`"first_seen": "2026-01-02T03:04:05+00:00"`)
	if len(rows["image_layers"]) != 2 || len(rows["layers"]) != 2 {
		t.Errorf("layers %d, image_layers %d; want 2 each", len(rows["layers"]),
			len(rows["image_layers"]))
	}
	if !repo {
		if len(rows["repositories"])+len(rows["tag_observations"]) != 0 {
			t.Errorf("an oci: image wrote repositories %v", rows["repositories"])
		}
		return
	}
	checkRow(t, rows["repositories"], `"official": true`, `"publisher": "crawlspace"`)
	checkRow(t, rows["tag_observations"], `"tag": "v1"`, `"digest": "`+ev.GetDigest()+`"`,
		`"last_seen": "2026-01-02T03:04:05+00:00"`)
	checkRow(t, rows["repository_popularity"], `"pull_count": 12345`, `"bucket": "10K+"`)
}

// checkRow asserts that one of rows holds every part.
func checkRow(t *testing.T, rows []string, parts ...string) {
	t.Helper()
	for _, r := range rows {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			return
		}
	}
	t.Errorf("no row holds %q among %d rows", parts, len(rows))
}

func TestHandleNamedErrors(t *testing.T) {
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	st := crawler.New(pool, b, crawler.Options{InsecureRegistries: []string{"127.0.0.1:1"}})
	tests := []struct {
		name      string
		data      string
		malformed bool
		permanent bool
	}{
		{"not json", "not json", true, false},
		{"wrong type", `{"ref": 42}`, true, false},
		{"no ref", `{"runId": "r"}`, true, false},
		{"unreachable registry", `{"ref": "docker://127.0.0.1:1/x:y"}`, false, false},
		{"bad reference", `{"ref": "docker://Upper/x:y"}`, false, true},
		{"missing layout", `{"ref": "oci:/nonexistent/crawlspace:x"}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.HandleNamed(t.Context(), &bus.Message{Subject: "image.named",
				Data: []byte(tt.data), Attempt: 1})
			if err == nil {
				t.Fatal("HandleNamed succeeded, want an error")
			}
			if got := errors.Is(err, bus.ErrMalformed); got != tt.malformed {
				t.Errorf("malformed = %v, want %v: %v", got, tt.malformed, err)
			}
			if got := errors.Is(err, bus.ErrPermanent); got != tt.permanent {
				t.Errorf("permanent = %v, want %v: %v", got, tt.permanent, err)
			}
		})
	}
	if rows := snapshot(t, pool); len(rows["images"]) != 0 {
		t.Errorf("failed crawls stored images: %v", rows["images"])
	}
}

// handleViaBus publishes named on image.named and runs the stage's handler
// on it through a real durable consumer, until it has been handled once.
func handleViaBus(t *testing.T, b *bus.Bus, pool *pgxpool.Pool, st *crawler.Stage,
	named *crawlspacev1.ImageNamed) {
	t.Helper()
	id := "named:" + named.GetRunId() + ":" + named.GetRef()
	if err := b.Publish(t.Context(), crawlspacev1.SubjectImageNamed, id, named); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	handled := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(ctx, bus.ConsumerConfig{
			Durable: "crawler", Subject: crawlspacev1.SubjectImageNamed,
			Failures: store.Failures{Pool: pool}, AckWait: time.Minute,
		}, func(ctx context.Context, m *bus.Message) error {
			err := st.HandleNamed(ctx, m)
			handled <- err
			return err
		})
	}()
	select {
	case err := <-handled:
		if err != nil {
			t.Fatalf("handle %s: %v", named.GetRef(), err)
		}
	case <-ctx.Done():
		t.Fatal("image.named was never handled")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// watchCrawled subscribes to image.crawled.
func watchCrawled(t *testing.T, b *bus.Bus) *nats.Subscription {
	t.Helper()
	sub, err := b.Conn().SubscribeSync(b.Subject(crawlspacev1.SubjectImageCrawled))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return sub
}

// nextCrawled waits for the next image.crawled event.
func nextCrawled(t *testing.T, sub *nats.Subscription) *crawlspacev1.ImageCrawled {
	t.Helper()
	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no image.crawled event: %v", err)
	}
	var ev crawlspacev1.ImageCrawled
	if err := bus.Decode(msg.Data, &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}

func randomName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func cmpProto() cmp.Option { return protocmp.Transform() }

func TestHandleNamedAllPlatforms(t *testing.T) {
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	ref, digests := writeMultiLayout(t, t.TempDir(), "multi", "amd64", "arm64")
	st := crawler.New(pool, b, crawler.Options{Platform: crawler.PlatformAll})
	events := watchCrawled(t, b)
	named := &crawlspacev1.ImageNamed{Ref: ref, RunId: "run-all"}
	handleViaBus(t, b, pool, st, named)

	got := map[string]bool{}
	for range digests {
		ev := nextCrawled(t, events)
		if ev.GetRef() != ref || ev.GetPackageCount() != 1 {
			t.Errorf("event %v: want ref %s with one package", ev, ref)
		}
		got[ev.GetDigest()] = true
	}
	for arch, d := range digests {
		if !got[d] {
			t.Errorf("no image.crawled for %s's %s among %v", arch, d, got)
		}
	}
	rows := snapshot(t, pool)
	if len(rows["images"]) != len(digests) {
		t.Errorf("%d images stored, want one per platform", len(rows["images"]))
	}
	for _, d := range digests {
		checkRow(t, rows["images"], `"digest": "`+d+`"`)
	}
}
