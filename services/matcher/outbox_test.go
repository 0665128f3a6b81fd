package matcher_test

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/matcher"
	"crawlspace.dev/services/platform/bus/bustest"
)

// TestEventsSurviveFailedPublish commits matches whose image.matched
// events cannot be published, as when NATS goes away after the commit,
// and retries the same messages on a working bus: every change is
// announced once, with what it added, although the retry itself changes
// nothing.
func TestEventsSurviveFailedPublish(t *testing.T) {
	e := newEnv(t)
	broken := matcher.New(e.pool, bustest.Closed(t, e.bus),
		matcher.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	openssl := []pkg{{name: "libssl3", version: "3.0.11-1~deb12u1", source: "openssl",
		sourceVersion: "3.0.11-1~deb12u1"}}
	e.notice(t, "DSA-1", "h1", aff{"bookworm", "openssl", "3.0.13-1~deb12u1", "fixed"})

	// After a crawl.
	e.image(t, "sha256:crawled", "bookworm", openssl)
	crawled := &crawlspacev1.ImageCrawled{Ref: "example.test/app:1", Digest: "sha256:crawled",
		RunId: "run-1"}
	msg := message(t, crawlspacev1.SubjectImageCrawled, crawled)
	if err := broken.HandleCrawled(t.Context(), msg); err == nil {
		t.Fatal("HandleCrawled on a closed bus succeeded")
	}
	msg.Attempt++ // the redelivery
	if err := e.stage.HandleCrawled(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	ev := e.next(t)
	if ev.GetDigest() != "sha256:crawled" || !slices.Equal(ev.GetAdded(), []string{"DSA-1"}) {
		t.Fatalf("retry announced %v, want the first attempt's event adding DSA-1", ev)
	}
	e.none(t)

	// After a notice, over images enough to fall in every part of a
	// rematch.
	const images = 200
	for i := range images {
		e.image(t, fmt.Sprintf("sha256:img%04d", i), "bookworm", openssl)
	}
	notice := e.notice(t, "DSA-2", "h2", aff{"bookworm", "openssl", "3.0.14-1~deb12u1",
		"fixed"})
	nmsg := message(t, crawlspacev1.SubjectNoticeParsed, notice)
	if err := broken.HandleNotice(t.Context(), nmsg); err == nil {
		t.Fatal("HandleNotice on a closed bus succeeded")
	}
	nmsg.Attempt++
	if err := e.stage.HandleNotice(t.Context(), nmsg); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range images + 1 {
		ev := e.next(t)
		if !slices.Equal(ev.GetAdded(), []string{"DSA-2"}) {
			t.Fatalf("event %v does not add DSA-2", ev)
		}
		seen[ev.GetDigest()]++
	}
	e.none(t)
	if len(seen) != images+1 {
		t.Fatalf("%d images announced, want %d", len(seen), images+1)
	}
	var left int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d batches left in the outbox", left)
	}
}

// TestDeletedImageLosesFindings deletes a matched image, as an operator
// pruning old images would: its findings go with it.
func TestDeletedImageLosesFindings(t *testing.T) {
	e := newEnv(t)
	e.notice(t, "DSA-1", "h1", aff{"bookworm", "openssl", "3.0.13-1~deb12u1", "fixed"})
	for _, d := range []string{"sha256:kept", "sha256:gone"} {
		e.image(t, d, "bookworm", []pkg{{name: "libssl3", version: "3.0.11-1~deb12u1",
			source: "openssl", sourceVersion: "3.0.11-1~deb12u1"}})
		if err := e.crawled(t, d, "run-1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.pool.Exec(t.Context(),
		`DELETE FROM images WHERE digest = 'sha256:gone'`); err != nil {
		t.Fatal(err)
	}
	got := e.findings(t)
	if len(got) != 1 || got[0].Image != "sha256:kept" {
		t.Fatalf("findings after deleting an image: %v, want the kept image's alone", got)
	}
}
