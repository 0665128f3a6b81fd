package compliance_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"crawlspace.dev/services/platform/fixtures"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/compliance"
	"crawlspace.dev/services/platform/bus"
	"crawlspace.dev/services/platform/bus/bustest"
	"crawlspace.dev/services/platform/store/storetest"
)

type env struct {
	pool  *pgxpool.Pool
	stage *compliance.Stage
	sub   *nats.Subscription
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool, _ := storetest.New(t)
	b := bustest.New(t)
	sub, err := b.Conn().SubscribeSync(b.Subject(crawlspacev1.SubjectImageChecked))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := b.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := compliance.New(pool, b, compliance.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return &env{pool: pool, stage: st, sub: sub}
}

// image is what the crawler would have stored of one image.
type image struct {
	user     *string
	packages []string
	files    []string
	configs  map[string]string
}

func (e *env) seed(t *testing.T, digest string, im image) {
	t.Helper()
	ctx := t.Context()
	cfg := map[string]any{"architecture": "amd64", "os": "linux", "config": map[string]any{}}
	if im.user != nil {
		cfg["config"] = map[string]any{"User": *im.user}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO images (digest, config_digest, media_type, os_id, os_codename, config,
			first_seen, crawled_at)
		VALUES ($1, 'sha256:cfg', 'application/vnd.oci.image.manifest.v1+json', 'debian',
			'bookworm', $2, now(), now())`, digest, string(raw))
	exec(`INSERT INTO layers VALUES ('sha256:layer', 'application/vnd.oci.image.layer.v1.tar',
		1) ON CONFLICT DO NOTHING`)
	for _, p := range im.packages {
		exec(`INSERT INTO image_packages (image_digest, ecosystem, name, version, arch,
				source_name, source_version)
			VALUES ($1, 'dpkg', $2, '1:9.2p1-2+deb12u2', 'amd64', 'openssh', '1:9.2p1-2+deb12u2')`,
			digest, p)
	}
	for _, f := range im.files {
		exec(`INSERT INTO image_files (image_digest, path, type, mode, uid, gid, size,
				layer_digest)
			VALUES ($1, $2, 'file', 493, 0, 0, 1000, 'sha256:layer')`, digest, f)
	}
	for path, content := range im.configs {
		exec(`INSERT INTO image_config_files (image_digest, path, content) VALUES ($1, $2, $3)`,
			digest, path, content)
	}
}

func (e *env) check(t *testing.T, digest, runID string) error {
	t.Helper()
	data, err := protojson.Marshal(&crawlspacev1.ImageCrawled{Ref: "example.test/app:1",
		Digest: digest, RunId: runID})
	if err != nil {
		t.Fatal(err)
	}
	return e.stage.HandleCrawled(t.Context(),
		&bus.Message{Subject: crawlspacev1.SubjectImageCrawled, Data: data, Attempt: 1})
}

func (e *env) next(t *testing.T) (*crawlspacev1.ImageChecked, string) {
	t.Helper()
	m, err := e.sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("wait for image.checked: %v", err)
	}
	var ev crawlspacev1.ImageChecked
	if err := bus.Decode(m.Data, &ev); err != nil {
		t.Fatal(err)
	}
	return &ev, m.Header.Get("Nats-Msg-Id")
}

// result is a rule_results row with its evidence decoded and its time as
// text.
type result struct {
	Rule, Title, Category, Severity, Status string
	Evidence                                map[string]any
	CheckedAt                               string
}

func (e *env) results(t *testing.T, digest string) map[string]result {
	t.Helper()
	rows, err := e.pool.Query(t.Context(), `
		SELECT rule_id, title, category, severity, status, evidence, checked_at::text
		FROM rule_results WHERE image_digest = $1`, digest)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[result])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]result{}
	for _, r := range list {
		out[r.Rule] = r
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ptr(s string) *string { return &s }

// none is the evidence of a pass.
var none = map[string]any{"violations": []any{}}

// passed is the evidence of a pass that names the value it found.
func passed(f map[string]any) map[string]any {
	return map[string]any{"violations": []any{}, "found": f}
}

// defaultRootLogin is what ssh-permit-root-login finds when no line sets
// PermitRootLogin: OpenSSH's default.
var defaultRootLogin = map[string]any{"file": "", "line": 0.0, "value": "prohibit-password",
	"default": true}

// found is the evidence of a failure with violations vs.
func found(vs ...map[string]any) map[string]any {
	l := make([]any, len(vs))
	for i, v := range vs {
		l[i] = v
	}
	return map[string]any{"violations": l}
}

func TestRules(t *testing.T) {
	upstreamSSHD := read(t, fixtures.Path(t, "configs/openssh/sshd_config"))
	alpinePasswd, alpineShadow := read(t, fixtures.Path(t, "configs/alpine-3.10.4-etc/passwd")),
		read(t, fixtures.Path(t, "configs/alpine-3.10.4-etc/shadow"))
	tests := []struct {
		name     string
		image    image
		rule     string
		status   string
		evidence map[string]any
	}{
		{"ssh upstream default passes",
			image{packages: []string{"openssh-server"},
				configs: map[string]string{"/etc/ssh/sshd_config": upstreamSSHD}},
			"ssh-permit-root-login", "pass",
			passed(defaultRootLogin)},
		{"ssh pass says where the value is set",
			image{packages: []string{"openssh-server"}, configs: map[string]string{
				"/etc/ssh/sshd_config": "Port 22\nPermitRootLogin no\n"}},
			"ssh-permit-root-login", "pass",
			passed(map[string]any{"file": "/etc/ssh/sshd_config", "line": 2.0, "value": "no",
				"default": false})},
		{"ssh permit yes fails",
			image{files: []string{"/usr/sbin/sshd"}, configs: map[string]string{
				"/etc/ssh/sshd_config": "Port 22\npermitrootlogin=Yes\nPermitRootLogin no\n"}},
			"ssh-permit-root-login", "fail",
			found(map[string]any{"file": "/etc/ssh/sshd_config", "line": 2.0, "value": "Yes",
				"expected": "prohibit-password, forced-commands-only or no"})},
		{"ssh yes only in match block passes",
			image{packages: []string{"openssh-server"}, configs: map[string]string{
				"/etc/ssh/sshd_config": "Match User admin\n  PermitRootLogin yes\n"}},
			"ssh-permit-root-login", "pass", nil},
		{"ssh server without config passes on default",
			image{files: []string{"/usr/sbin/sshd"}},
			"ssh-permit-root-login", "pass",
			passed(defaultRootLogin)},
		{"shadow ageing over a year fails",
			image{configs: map[string]string{
				"/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n" +
					"app:x:1000:1000::/home/app:/bin/sh\nops:x:1001:1001::/home/ops:/bin/sh\n",
				"/etc/shadow": "root:*:19000:0:99999:7:::\napp:<hashed>:19000:0:90:7:::\n" +
					"ops:<hashed>:19000:0::7:::\n"}},
			"password-account-max-days", "fail",
			found(map[string]any{"file": "/etc/shadow", "line": 3.0, "value": "ops unset",
				"expected": "365 or fewer"})},
		{"ssh client config only is not applicable",
			image{packages: []string{"openssh-client"}, configs: map[string]string{
				"/etc/ssh/sshd_config": "PermitRootLogin yes\n"}},
			"ssh-permit-root-login", "not-applicable", nil},
		{"alpine locked root passes",
			image{configs: map[string]string{"/etc/passwd": alpinePasswd,
				"/etc/shadow": alpineShadow}},
			"password-empty", "pass",
			none},
		{"empty shadow passwords fail",
			image{configs: map[string]string{
				"/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n" +
					"app:x:1000:1000::/home/app:/bin/sh\nops::1001:1001::/home/ops:/bin/sh\n",
				"/etc/shadow": "root::19000:0:99999:7:::\napp:<hashed>:19000:0:99999:7:::\n"}},
			"password-empty", "fail",
			found(map[string]any{"file": "/etc/passwd", "line": 1.0, "value": "root",
				"expected": "no account without a password"},
				map[string]any{"file": "/etc/passwd", "line": 3.0, "value": "ops",
					"expected": "no account without a password"})},
		{"no passwd is not applicable",
			image{configs: map[string]string{"/etc/shadow": "root::19000::::::\n"}},
			"password-empty", "not-applicable", nil},
		{"no user fails", image{}, "image-user-root", "fail",
			found(map[string]any{"file": "", "line": 0.0, "value": "",
				"expected": "a non-root user"})},
		{"empty user fails", image{user: ptr("")}, "image-user-root", "fail", nil},
		{"root fails", image{user: ptr("root")}, "image-user-root", "fail", nil},
		{"uid 0 fails", image{user: ptr("0")}, "image-user-root", "fail", nil},
		{"root with group fails", image{user: ptr("root:root")}, "image-user-root", "fail", nil},
		{"uid 0 with group fails", image{user: ptr("0:1000")}, "image-user-root", "fail", nil},
		{"named user passes", image{user: ptr("nginx")}, "image-user-root", "pass",
			none},
		{"numeric user passes", image{user: ptr("1000:1000")}, "image-user-root", "pass", nil},
		{"rootless lookalike passes", image{user: ptr("rootless")}, "image-user-root", "pass",
			nil},
	}
	e := newEnv(t)
	rules := mustRules(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			digest := fmt.Sprintf("sha256:%064d", i)
			e.seed(t, digest, tt.image)
			if err := e.check(t, digest, "run-1"); err != nil {
				t.Fatal(err)
			}
			ev, _ := e.next(t)
			if n := len(rules.Rules()); int(ev.Passed+ev.Failed+ev.NotApplicable) != n {
				t.Errorf("event counts %v do not cover %d rules", ev, n)
			}
			got, ok := e.results(t, digest)[tt.rule]
			if !ok {
				t.Fatalf("no result for %s", tt.rule)
			}
			if got.Status != tt.status {
				t.Errorf("%s = %s, want %s (evidence %v)", tt.rule, got.Status, tt.status,
					got.Evidence)
			}
			if tt.evidence != nil {
				if diff := cmp.Diff(tt.evidence, got.Evidence); diff != "" {
					t.Errorf("evidence (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRuleMetadata(t *testing.T) {
	e := newEnv(t)
	const digest = "sha256:aa"
	e.seed(t, digest, image{user: ptr("app")})
	if err := e.check(t, digest, "r"); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"ssh-permit-root-login": {"ssh", "high"},
		"password-empty":        {"password", "high"},
		"image-user-root":       {"image", "medium"},
	}
	got := map[string][2]string{}
	for id, r := range e.results(t, digest) {
		if _, ok := want[id]; ok {
			got[id] = [2]string{r.Category, r.Severity}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("categories and severities (-want +got):\n%s", diff)
	}
	stored := e.results(t, digest)
	for _, r := range mustRules(t).Rules() {
		if r.Title == "" {
			t.Errorf("rule %s has no title", r.ID)
		}
		if got := stored[r.ID].Title; got != r.Title {
			t.Errorf("rule %s stored with title %q, want %q", r.ID, got, r.Title)
		}
	}
}

// TestIdempotent checks an image twice: rows, checked_at included, stay
// the same; a change in the image's stored features moves only the
// changed rule.
func TestIdempotent(t *testing.T) {
	e := newEnv(t)
	const digest = "sha256:bb"
	e.seed(t, digest, image{user: ptr("root"), packages: []string{"openssh-server"},
		configs: map[string]string{"/etc/ssh/sshd_config": "PermitRootLogin yes\n",
			"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "/etc/shadow": "root:!::::::\n"}})
	if err := e.check(t, digest, "run-1"); err != nil {
		t.Fatal(err)
	}
	ev, id := e.next(t)
	want := &crawlspacev1.ImageChecked{Ref: "example.test/app:1", Digest: digest,
		RunId: "run-1"}
	for _, r := range e.results(t, digest) {
		switch r.Status {
		case "pass":
			want.Passed++
		case "fail":
			want.Failed++
		case "not-applicable":
			want.NotApplicable++
		}
	}
	if diff := cmp.Diff(want.String(), ev.String()); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if id != "checked:"+digest+":run-1:example.test/app:1" {
		t.Errorf("msg id = %q", id)
	}
	first := e.results(t, digest)

	time.Sleep(10 * time.Millisecond)
	if err := e.check(t, digest, "run-2"); err != nil {
		t.Fatal(err)
	}
	e.next(t)
	if diff := cmp.Diff(first, e.results(t, digest)); diff != "" {
		t.Errorf("second check changed rows (-first +second):\n%s", diff)
	}

	_, err := e.pool.Exec(t.Context(), `UPDATE image_config_files SET content = $2
		WHERE image_digest = $1 AND path = '/etc/ssh/sshd_config'`, digest, "PermitRootLogin no\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.check(t, digest, "run-3"); err != nil {
		t.Fatal(err)
	}
	e.next(t)
	third := e.results(t, digest)
	for id, r := range third {
		moved := r.CheckedAt != first[id].CheckedAt
		if moved != (id == "ssh-permit-root-login") {
			t.Errorf("%s checked_at moved %v", id, moved)
		}
	}
	if s := third["ssh-permit-root-login"].Status; s != "pass" {
		t.Errorf("after the fix the ssh rule is %s", s)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		data string
		want error
	}{
		{"not json", "{", bus.ErrMalformed},
		{"no digest", `{"ref":"x"}`, bus.ErrMalformed},
		{"unknown image", `{"digest":"sha256:00"}`, bus.ErrPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.stage.HandleCrawled(t.Context(), &bus.Message{Subject: "image.crawled",
				Data: []byte(tt.data)})
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
	if got := e.results(t, "sha256:00"); len(got) != 0 {
		t.Errorf("results stored for an unknown image: %v", got)
	}
}
