package matcher_test

import (
	"errors"
	"testing"

	"crawlspace.dev/services/platform/fixtures"

	"github.com/google/go-cmp/cmp"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/platform/bus"
)

const (
	bullseye = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	bionic   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// TestVersionDecisions checks that the dpkg order decides each finding,
// on versions from Debian's DSA list.
func TestVersionDecisions(t *testing.T) {
	tests := []struct {
		name      string
		source    string
		installed string
		fixed     string
		want      bool
	}{
		{"missing epoch sorts below epoch 2", "xorg-server", "1.20.11-1+deb11u7",
			"2:1.20.11-1+deb11u6", true},
		{"same epoch older revision", "xorg-server-old", "2:1.20.11-1+deb11u5",
			"2:1.20.11-1+deb11u6", true},
		{"epoch 1 beats higher upstream", "attr", "1:2.5.1-4", "2.5.2-1", false},
		{"explicit zero epoch equals none", "acl", "0:2.3.1-3", "2.3.1-3", false},
		{"tilde backport sorts before release", "thunderbird", "1:102.9.0-1~deb11u1",
			"1:102.9.0-1", true},
		{"installed equals fix", "firefox-esr", "102.9.0esr-1~deb11u1",
			"102.9.0esr-1~deb11u1", false},
		{"numeric not lexical", "chromium", "111.0.5563.64-1~deb11u1",
			"111.0.5563.110-1~deb11u1", true},
		{"really older inner version", "graphicsmagick", "1.4+really1.3.35-1",
			"1.4+really1.3.36+hg16481-2+deb11u1", true},
		{"really above plain upstream fix", "graphicsmagick-new",
			"1.4+really1.3.36+hg16481-2+deb11u1", "1.4-1", false},
		{"newer security upload", "curl", "7.74.0-1.3+deb11u7", "7.74.0-1.3+deb11u3", false},
	}
	e := newEnv(t)
	var pkgs []pkg
	for _, tt := range tests {
		pkgs = append(pkgs, pkg{name: "bin-" + tt.source, version: tt.installed,
			source: tt.source, sourceVersion: tt.installed})
		e.notice(t, "TEST-"+tt.source, "h1", aff{"bullseye", tt.source, tt.fixed, "fixed"})
	}
	e.image(t, bullseye, "bullseye", pkgs)
	if err := e.crawled(t, bullseye, "run-1"); err != nil {
		t.Fatal(err)
	}
	got := map[string]row{}
	for _, r := range e.findings(t) {
		got[r.Source] = r
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, found := got[tt.source]
			if found != tt.want {
				t.Fatalf("%s %s against fix %s: finding %v, want %v",
					tt.source, tt.installed, tt.fixed, found, tt.want)
			}
			if !found {
				return
			}
			want := row{Image: bullseye, Package: "bin-" + tt.source, Notice: "TEST-" + tt.source,
				Ecosystem: "dpkg", Source: tt.source, Installed: tt.installed, Fixed: tt.fixed,
				Release: "bullseye", Status: "fixed", Comparator: "dpkg",
				FirstSeen: r.FirstSeen}
			if diff := cmp.Diff(want, r); diff != "" {
				t.Errorf("finding (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSourceNotBinary matches a real ubuntu:18.04 package database: the
// notice names the source package, every binary built from it is found,
// the source version is compared rather than the binary one, and a fix
// for another release does not apply.
func TestSourceNotBinary(t *testing.T) {
	e := newEnv(t)
	pkgs := readStatus(t, fixtures.Path(t, "pkgdb/dpkg/ubuntu-18.04.status"))
	if len(pkgs) != 90 {
		t.Fatalf("status file has %d installed packages, want 90", len(pkgs))
	}
	e.image(t, bionic, "bionic", pkgs)
	e.notice(t, "TEST-UTIL-LINUX", "h1",
		aff{"bionic", "util-linux", "2.31.1-0.4ubuntu3.2", "fixed"},
		aff{"focal", "util-linux", "2.34-0.1ubuntu9.1", "fixed"})
	// The binary liblzma5 is 5.1.1alpha+20120614-2+b3, above this fix; its
	// source, 5.1.1alpha+20120614-2, is below it.
	e.notice(t, "TEST-XZ", "h1", aff{"bionic", "xz-utils", "5.1.1alpha+20120614-2+b1", "fixed"})
	// Only focal is named: a bionic image must not match.
	e.notice(t, "TEST-FOCAL-ONLY", "h1", aff{"focal", "glibc", "2.31-0ubuntu9.9", "fixed"})
	// The source version of bsdutils has no epoch; its binary has 1:.
	e.notice(t, "TEST-EPOCH", "h1", aff{"bionic", "util-linux", "1:2.0-1", "fixed"})

	if err := e.crawled(t, bionic, "run-1"); err != nil {
		t.Fatal(err)
	}
	type short struct{ Package, Notice, Installed string }
	var got []short
	for _, r := range e.findings(t) {
		got = append(got, short{r.Package, r.Notice, r.Installed})
	}
	var want []short
	for _, b := range []string{"bsdutils", "fdisk", "libblkid1", "libfdisk1", "libmount1",
		"libsmartcols1", "libuuid1", "mount", "util-linux"} {
		want = append(want, short{b, "TEST-EPOCH", "2.31.1-0.4ubuntu3.1"},
			short{b, "TEST-UTIL-LINUX", "2.31.1-0.4ubuntu3.1"})
	}
	want = append(want, short{"liblzma5", "TEST-XZ", "5.1.1alpha+20120614-2"})
	sortShort := cmp.Transformer("sort", func(in []short) []short {
		out := append([]short(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j].Package+out[j].Notice < out[i].Package+out[i].Notice {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
	if diff := cmp.Diff(want, got, sortShort); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	ev := e.next(t)
	wantEv := &crawlspacev1.ImageMatched{Ref: "example.test/app:1", Digest: bionic,
		RunId: "run-1", Findings: 19, Added: []string{"TEST-EPOCH", "TEST-UTIL-LINUX", "TEST-XZ"}}
	if diff := cmp.Diff(wantEv.String(), ev.String()); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

// TestStatuses checks which affected statuses make findings.
func TestStatuses(t *testing.T) {
	tests := []struct {
		status string
		want   bool
	}{
		{"unfixed", true},
		{"will-not-fix", true},
		{"deferred", true},
		{"end-of-life", true},
		{"not-affected", false},
		{"undetermined", false},
	}
	e := newEnv(t)
	var pkgs []pkg
	for _, tt := range tests {
		pkgs = append(pkgs, pkg{name: "lib" + tt.status, version: "1.0-1", source: tt.status,
			sourceVersion: "1.0-1"})
		e.notice(t, "TEST-"+tt.status, "h1", aff{"bullseye", tt.status, "", tt.status})
	}
	// Two architectures of one binary make one finding.
	pkgs = append(pkgs,
		pkg{name: "libc6", version: "2.31-13", arch: "amd64", source: "glibc",
			sourceVersion: "2.31-13"},
		pkg{name: "libc6", version: "2.31-13", arch: "i386", source: "glibc",
			sourceVersion: "2.31-13"})
	e.notice(t, "DLA-3152-1", "h1", aff{"bullseye", "glibc", "2.31-13+deb11u4", "fixed"})
	e.image(t, bullseye, "bullseye", pkgs)
	if err := e.crawled(t, bullseye, "run-1"); err != nil {
		t.Fatal(err)
	}

	got := map[string]row{}
	for _, r := range e.findings(t) {
		got[r.Notice] = r
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			r, found := got["TEST-"+tt.status]
			if found != tt.want {
				t.Fatalf("status %s: finding %v, want %v", tt.status, found, tt.want)
			}
			if found && (r.Status != tt.status || r.Fixed != "" || r.Installed != "1.0-1") {
				t.Errorf("finding = %+v, want status %s, no fixed version", r, tt.status)
			}
		})
	}
	t.Run("multiarch", func(t *testing.T) {
		if r, ok := got["DLA-3152-1"]; !ok || r.Package != "libc6" {
			t.Errorf("libc6 finding = %+v, %v", r, ok)
		}
		if len(got) != 5 {
			t.Errorf("got %d findings, want 5", len(got))
		}
	})
}

// TestIdempotent handles the same crawl and notice twice: the rows stay
// byte-identical, first_seen included.
func TestIdempotent(t *testing.T) {
	e := newEnv(t)
	e.image(t, bullseye, "bullseye", []pkg{
		{name: "xserver-common", version: "2:1.20.11-1+deb11u5", source: "xorg-server",
			sourceVersion: "2:1.20.11-1+deb11u5"},
		{name: "libcurl4", version: "7.74.0-1.3+deb11u3", source: "curl",
			sourceVersion: "7.74.0-1.3+deb11u3"},
	})
	xorg := e.notice(t, "DSA-5380-1", "h1",
		aff{"bullseye", "xorg-server", "2:1.20.11-1+deb11u6", "fixed"})
	e.notice(t, "DSA-5365-1", "h1", aff{"bullseye", "curl", "7.74.0-1.3+deb11u7", "fixed"})

	if err := e.crawled(t, bullseye, "run-1"); err != nil {
		t.Fatal(err)
	}
	first := e.findings(t)
	if len(first) != 2 {
		t.Fatalf("got %d findings, want 2: %+v", len(first), first)
	}
	if ev := e.next(t); len(ev.Added) != 2 || ev.Findings != 2 {
		t.Errorf("first event = %v, want 2 added, 2 findings", ev)
	}

	steps := []struct {
		name string
		run  func() error
	}{
		{"crawl again", func() error { return e.crawled(t, bullseye, "run-1") }},
		{"notice again", func() error { return e.parsed(t, xorg) }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.run(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(first, e.findings(t)); diff != "" {
				t.Errorf("findings changed (-first +now):\n%s", diff)
			}
		})
	}
	// The second crawl still announces, with nothing added; the notice,
	// which changed nothing, does not.
	if ev := e.next(t); len(ev.Added) != 0 || len(ev.Resolved) != 0 || ev.Findings != 2 {
		t.Errorf("second event = %v, want 2 findings, nothing added or resolved", ev)
	}
	e.none(t)
}

// TestResolveAndReopen changes a notice's content so that the image is no
// longer vulnerable, then vulnerable again, then drops the release.
func TestResolveAndReopen(t *testing.T) {
	e := newEnv(t)
	e.image(t, bullseye, "bullseye", []pkg{{name: "chromium", version: "111.0.5563.64-1~deb11u1",
		source: "chromium", sourceVersion: "111.0.5563.64-1~deb11u1"}})
	e.notice(t, "DSA-5377-1", "h1",
		aff{"bullseye", "chromium", "111.0.5563.110-1~deb11u1", "fixed"})
	if err := e.crawled(t, bullseye, "run-1"); err != nil {
		t.Fatal(err)
	}
	e.next(t)
	opened := e.findings(t)[0]

	steps := []struct {
		name         string
		rows         []aff
		added        []string
		resolved     []string
		wantResolved bool
	}{
		{"fix now at installed version", []aff{{"bullseye", "chromium",
			"111.0.5563.64-1~deb11u1", "fixed"}}, nil, []string{"DSA-5377-1"}, true},
		{"fix raised again", []aff{{"bullseye", "chromium", "111.0.5563.110-1~deb11u1",
			"fixed"}}, []string{"DSA-5377-1"}, nil, false},
		{"release dropped", []aff{{"bookworm", "chromium", "111.0.5563.110-1~deb12u1",
			"fixed"}}, nil, []string{"DSA-5377-1"}, true},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			ev := e.notice(t, "DSA-5377-1", "h"+string(rune('2'+i)), s.rows...)
			if err := e.parsed(t, ev); err != nil {
				t.Fatal(err)
			}
			got := e.next(t)
			if diff := cmp.Diff(s.added, got.Added); diff != "" {
				t.Errorf("added (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(s.resolved, got.Resolved); diff != "" {
				t.Errorf("resolved (-want +got):\n%s", diff)
			}
			r := e.findings(t)[0]
			if r.FirstSeen != opened.FirstSeen {
				t.Errorf("first_seen moved from %s to %s", opened.FirstSeen, r.FirstSeen)
			}
			if (r.ResolvedAt != "") != s.wantResolved {
				t.Errorf("resolved_at = %q, want resolved %v", r.ResolvedAt, s.wantResolved)
			}

			// The same event again changes nothing and announces nothing.
			if err := e.parsed(t, ev); err != nil {
				t.Fatal(err)
			}
			e.none(t)
			if diff := cmp.Diff(r, e.findings(t)[0]); diff != "" {
				t.Errorf("second delivery changed the row (-first +now):\n%s", diff)
			}
		})
	}
}

// TestOrderIndependent checks that a notice stored before the crawl and
// one arriving after it give the same findings.
func TestOrderIndependent(t *testing.T) {
	pkgs := []pkg{
		{name: "xserver-common", version: "2:1.20.11-1+deb11u5", source: "xorg-server",
			sourceVersion: "2:1.20.11-1+deb11u5"},
		{name: "xserver-xorg-core", version: "2:1.20.11-1+deb11u5", source: "xorg-server",
			sourceVersion: "2:1.20.11-1+deb11u5"},
		{name: "libapr1", version: "1.7.0-6+deb11u1", source: "apr",
			sourceVersion: "1.7.0-6+deb11u1"},
	}
	notices := []struct {
		id  string
		row aff
	}{
		{"DSA-5380-1", aff{"bullseye", "xorg-server", "2:1.20.11-1+deb11u6", "fixed"}},
		{"DSA-5370-1", aff{"bullseye", "apr", "1.7.0-6+deb11u2", "fixed"}},
	}

	before := newEnv(t)
	for _, n := range notices {
		before.notice(t, n.id, "h1", n.row)
	}
	before.image(t, bullseye, "bullseye", pkgs)
	if err := before.crawled(t, bullseye, "run-1"); err != nil {
		t.Fatal(err)
	}

	after := newEnv(t)
	after.image(t, bullseye, "bullseye", pkgs)
	if err := after.crawled(t, bullseye, "run-1"); err != nil {
		t.Fatal(err)
	}
	if ev := after.next(t); ev.Findings != 0 {
		t.Fatalf("findings before any notice: %d", ev.Findings)
	}
	for _, n := range notices {
		if err := after.parsed(t, after.notice(t, n.id, "h1", n.row)); err != nil {
			t.Fatal(err)
		}
		if got := after.next(t); len(got.Added) != 1 || got.Added[0] != n.id || got.RunId != "" {
			t.Errorf("event after %s = %v", n.id, got)
		}
	}

	ignoreTimes := cmp.Transformer("times", func(r row) row {
		r.FirstSeen, r.ResolvedAt = "", ""
		return r
	})
	got, want := after.findings(t), before.findings(t)
	if len(want) != 3 {
		t.Fatalf("got %d findings, want 3", len(want))
	}
	if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
		t.Errorf("notice after crawl (-before +after):\n%s", diff)
	}
}

// TestNoCodename matches nothing for an image whose release is unknown,
// and still announces it.
func TestNoCodename(t *testing.T) {
	e := newEnv(t)
	e.image(t, bullseye, "", []pkg{{name: "libapr1", version: "1.7.0-6", source: "apr",
		sourceVersion: "1.7.0-6"}})
	e.notice(t, "DSA-5370-1", "h1", aff{"", "apr", "1.7.0-6+deb11u2", "fixed"})
	if err := e.crawled(t, bullseye, "run-1"); err != nil {
		t.Fatal(err)
	}
	if ev := e.next(t); ev.Findings != 0 || ev.Digest != bullseye {
		t.Errorf("event = %v, want 0 findings", ev)
	}
	if rows := e.findings(t); len(rows) != 0 {
		t.Errorf("findings = %+v, want none", rows)
	}
}

// TestBadInput checks which errors give up at once.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		handler bus.Handler
		data    string
		want    error
	}{
		{"crawl not json", e.stage.HandleCrawled, "{", bus.ErrMalformed},
		{"crawl without digest", e.stage.HandleCrawled, `{"ref":"x"}`, bus.ErrMalformed},
		{"crawl of unknown image", e.stage.HandleCrawled, `{"digest":"sha256:00"}`,
			bus.ErrPermanent},
		{"notice not json", e.stage.HandleNotice, "[]", bus.ErrMalformed},
		{"notice without id", e.stage.HandleNotice, `{"source":"debian-dsa"}`, bus.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.handler(t.Context(), &bus.Message{Subject: "x", Data: []byte(tt.data)})
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestMessageID checks the ids image.matched events carry, which
// JetStream's duplicate window keys on.
func TestMessageID(t *testing.T) {
	e := newEnv(t)
	e.image(t, bullseye, "bullseye", []pkg{{name: "libapr1", version: "1.7.0-6", source: "apr",
		sourceVersion: "1.7.0-6"}})
	ev := e.notice(t, "DSA-5370-1", "abc", aff{"bullseye", "apr", "1.7.0-6+deb11u2", "fixed"})
	if err := e.parsed(t, ev); err != nil {
		t.Fatal(err)
	}
	if err := e.crawled(t, bullseye, "run-7"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"matched:" + bullseye + ":DSA-5370-1:abc",
		"matched:" + bullseye + ":run-7:example.test/app:1"} {
		m, err := e.sub.NextMsg(5e9)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get("Nats-Msg-Id"); got != want {
			t.Errorf("msg id = %q, want %q", got, want)
		}
	}
}
