package collector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	crawlspacev1 "crawlspace.dev/proto/crawlspace/v1"
	"crawlspace.dev/services/collector"
	"crawlspace.dev/services/internal/registrytest"
)

// teamRefs returns the refs seed pushes under team/ with tag.
func teamRefs(host string, repos int, tag string) []string {
	var out []string
	for i := range repos {
		out = append(out, fmt.Sprintf("%s/team/app%02d:%s", host, i, tag))
	}
	return out
}

// byRun groups refs by run id, in the order published.
func byRun(evs []*crawlspacev1.ImageNamed) map[string][]string {
	out := map[string][]string{}
	for _, e := range evs {
		out[e.GetRunId()] = append(out[e.GetRunId()], e.GetRef())
	}
	return out
}

// TestScheduleRunsEachTickAsANewRun pins the schedule's semantics: every
// tick starts a new run with a fresh id (a spec's own run id is ignored),
// each run publishes every chosen name of an unchanged registry exactly
// once under its id, and Schedule returns nil when its ctx ends.
func TestScheduleRunsEachTickAsANewRun(t *testing.T) {
	reg := registrytest.Start(t, "", "")
	seed(t, reg, 3, []string{"latest", "1.0"})
	c, pool, b := newCollector(t)
	specs := []collector.Spec{{Source: "registry", URL: reg.URL() + "/team", RunID: "fixed"}}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Schedule(ctx, specs, 200*time.Millisecond) }()
	deadline := time.Now().Add(30 * time.Second)
	for count(t, pool, `SELECT count(*) FROM collect_runs WHERE finished_at IS NOT NULL`) < 2 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("two scheduled runs did not finish in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Schedule returned %v after its ctx ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Schedule did not return after its ctx ended")
	}

	runs := byRun(named(t, b))
	if _, ok := runs["fixed"]; ok {
		t.Error("a scheduled run kept the spec's run id; each tick must be a new run")
	}
	want := teamRefs(reg.Host, 3, "latest")
	finished := rowsOf(t, pool, `SELECT run_id FROM collect_runs
		WHERE finished_at IS NOT NULL AND error = '' ORDER BY started_at`)
	if len(finished) < 2 {
		t.Fatalf("finished runs %q, want at least two", finished)
	}
	for _, run := range finished {
		got := slices.Sorted(slices.Values(runs[run]))
		if !slices.Equal(got, want) {
			t.Errorf("run %s published %q, want each of %q once", run, got, want)
		}
	}
}

// status is GET /v1/collect/{run}'s answer.
type status struct {
	RunID        string     `json:"run_id"`
	Cursor       string     `json:"cursor"`
	Repositories int        `json:"repositories"`
	Names        int        `json:"names"`
	FinishedAt   *time.Time `json:"finished_at"`
	Error        string     `json:"error"`
}

// serve runs c's handler in an httptest server until the test ends, and
// waits for the runs it started.
func serve(t *testing.T, c *collector.Collector) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	h, wait := c.Handler(ctx)
	s := httptest.NewServer(h)
	t.Cleanup(func() {
		s.Close()
		cancel()
		wait()
	})
	return s
}

func post(t *testing.T, s *httptest.Server, body string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Post(s.URL+"/v1/collect", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("POST answer %q: %v", data, err)
	}
	return resp.StatusCode, out
}

// poll GETs run's status until it has finished.
func poll(t *testing.T, s *httptest.Server, run string) status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/v1/collect/" + run)
		if err != nil {
			t.Fatal(err)
		}
		var st status
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET run %s: %d, %v", run, resp.StatusCode, err)
		}
		if st.FinishedAt != nil {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not finish: %+v", run, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHandlerStartsAndReportsRuns(t *testing.T) {
	reg := registrytest.Start(t, "", "")
	seed(t, reg, 5, []string{"latest", "1.0"})
	c, _, b := newCollector(t)
	s := serve(t, c)

	t.Run("a run by POST publishes and reports its result", func(t *testing.T) {
		code, out := post(t, s, `{"source":"registry","url":"`+reg.URL()+`/team","tags":"all"}`)
		if code != http.StatusAccepted || out["run_id"] == "" {
			t.Fatalf("POST: %d %v, want 202 with a run id", code, out)
		}
		st := poll(t, s, out["run_id"])
		if st.RunID != out["run_id"] || st.Repositories != 5 || st.Names != 10 ||
			st.Error != "" || st.Cursor != "team/app04" {
			t.Errorf("status %+v, want 5 repositories, 10 names, cursor team/app04", st)
		}
		runs := byRun(named(t, b))
		if n := len(runs[out["run_id"]]); n != 10 {
			t.Errorf("%d names published under the run, want 10", n)
		}
	})

	t.Run("a named run keeps its id and resumes", func(t *testing.T) {
		body := `{"source":"registry","url":"` + reg.URL() + `/team","run_id":"api-1","limit":2}`
		if code, out := post(t, s, body); code != http.StatusAccepted || out["run_id"] != "api-1" {
			t.Fatalf("POST: %d %v, want 202 naming api-1", code, out)
		}
		if st := poll(t, s, "api-1"); st.Repositories != 2 || st.Cursor != "team/app01" {
			t.Fatalf("first part %+v, want 2 repositories up to team/app01", st)
		}
		body = `{"source":"registry","url":"` + reg.URL() + `/team","run_id":"api-1"}`
		if code, _ := post(t, s, body); code != http.StatusAccepted {
			t.Fatalf("resume POST: %d", code)
		}
		// The resumed run finishes once its cursor reaches the last one.
		deadline := time.Now().Add(30 * time.Second)
		for st := poll(t, s, "api-1"); st.Cursor != "team/app04"; st = poll(t, s, "api-1") {
			if time.Now().After(deadline) {
				t.Fatalf("resumed run stuck at %+v", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st := poll(t, s, "api-1"); st.Repositories != 5 || st.Names != 5 {
			t.Errorf("resumed run %+v, want 5 repositories and 5 names in all", st)
		}
	})

	t.Run("a run that cannot reach its registry reports why", func(t *testing.T) {
		code, out := post(t, s, `{"source":"registry","url":"http://127.0.0.1:1"}`)
		if code != http.StatusAccepted {
			t.Fatalf("POST: %d %v", code, out)
		}
		if st := poll(t, s, out["run_id"]); st.Error == "" || st.Names != 0 {
			t.Errorf("status %+v, want an error and no names", st)
		}
	})
}

func TestHandlerRejects(t *testing.T) {
	c, pool, _ := newCollector(t)
	s := serve(t, c)
	tests := []struct {
		name, body string
	}{
		{"not json", `source=registry`},
		{"empty", ``},
		{"unknown field", `{"source":"registry","url":"http://r","depth":3}`},
		{"unknown source", `{"source":"ftp","url":"http://r"}`},
		{"registry without url", `{"source":"registry"}`},
		{"hub without mode", `{"source":"hub"}`},
		{"bad sort", `{"source":"hub","mode":"sort","sort":"name"}`},
		{"negative limit", `{"source":"registry","url":"http://r","limit":-1}`},
		{"bad tag policy", `{"source":"registry","url":"http://r","tags":"regexp:("}`},
		{"wrong type", `{"source":"registry","url":"http://r","limit":"ten"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := post(t, s, tt.body)
			if code != http.StatusBadRequest || out["error"] == "" {
				t.Errorf("POST %s: %d %v, want 400 with an error", tt.body, code, out)
			}
		})
	}
	if n := count(t, pool, `SELECT count(*) FROM collect_runs`); n != 0 {
		t.Errorf("rejected bodies started %d runs", n)
	}

	t.Run("unknown run", func(t *testing.T) {
		resp, err := http.Get(s.URL + "/v1/collect/no-such-run")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET unknown run: %d, want 404", resp.StatusCode)
		}
	})
}
