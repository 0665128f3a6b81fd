package fetch

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func get(url string) RequestFunc {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

// flaky answers with codes in turn, then 200, and records when each
// request came.
type flaky struct {
	codes  []int
	header http.Header
	n      atomic.Int64
	times  chan time.Time
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.times <- time.Now()
	i := int(f.n.Add(1)) - 1
	if i < len(f.codes) {
		for k, v := range f.header {
			w.Header()[k] = v
		}
		w.WriteHeader(f.codes[i])
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func TestDoRetries(t *testing.T) {
	tests := []struct {
		name       string
		codes      []int
		retryAfter string
		attempts   int
		wantCode   int
		wantErr    bool
		minGap     time.Duration
	}{
		{"429 with Retry-After waits that long", []int{429}, "1", 3, 200, false,
			900 * time.Millisecond},
		{"503 then backoff", []int{503, 502}, "", 3, 200, false, 20 * time.Millisecond},
		{"gives up after max attempts", []int{500, 500, 500}, "", 3, 0, true, 0},
		{"404 is not retried", []int{404}, "", 3, 404, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flaky{codes: tt.codes, header: http.Header{}, times: make(chan time.Time, 10)}
			if tt.retryAfter != "" {
				f.header.Set("Retry-After", tt.retryAfter)
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := New(Options{Rate: 1000, MaxAttempts: tt.attempts, Backoff: 20 * time.Millisecond})
			resp, err := c.Do(t.Context(), get(srv.URL))
			if tt.wantErr {
				if err == nil || !IsStatus(err, 500) {
					t.Fatalf("err = %v, want a 500 StatusError", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.wantCode {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.wantCode)
				}
			}
			close(f.times)
			var prev time.Time
			for at := range f.times {
				if !prev.IsZero() && at.Sub(prev) < tt.minGap {
					t.Errorf("retried after %v, want at least %v", at.Sub(prev), tt.minGap)
				}
				prev = at
			}
		})
	}
}

func TestRateLimitPerHost(t *testing.T) {
	f := &flaky{times: make(chan time.Time, 100)}
	a, b := httptest.NewServer(f), httptest.NewServer(f)
	defer a.Close()
	defer b.Close()
	c := New(Options{Rate: 20, Burst: 1})
	start := time.Now()
	for range 11 {
		for _, u := range []string{a.URL, b.URL} {
			resp, err := c.Do(t.Context(), get(u))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	// 11 requests to each host at 20/s take 0.5s; the hosts do not share
	// a budget, or it would take 1.05s.
	if d := time.Since(start); d < 450*time.Millisecond || d > 900*time.Millisecond {
		t.Errorf("22 requests to two hosts took %v, want about 500ms", d)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"120", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"Fri, 01 May 2026 12:00:30 GMT", 30 * time.Second},
		{"Fri, 01 May 2026 11:00:00 GMT", 0},
		{"soon", 0},
		{"", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := RetryAfter(tt.in, now); got != tt.want {
				t.Errorf("RetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestFetchRetriesShortBodies answers with 5xx and bodies cut short
// before a whole one: each counts as one attempt of the same budget, so
// that a request is sent at most MaxAttempts times in all.
func TestFetchRetriesShortBodies(t *testing.T) {
	tests := []struct {
		name    string
		answers []string // "502" or "short", then the whole body
		wantErr bool
		sends   int64
	}{
		{"a 502 and a cut, then the body", []string{"502", "short"}, false, 3},
		{"more cuts than attempts", []string{"short", "short", "short", "short"}, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sends atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
				_ *http.Request) {
				answer := "whole"
				if n := int(sends.Add(1)); n <= len(tt.answers) {
					answer = tt.answers[n-1]
				}
				w.Header().Set("Content-Length", "10")
				switch answer {
				case "502":
					w.WriteHeader(http.StatusBadGateway)
				case "short":
					_, _ = w.Write([]byte("short"))
				default:
					_, _ = w.Write([]byte("0123456789"))
				}
			}))
			defer srv.Close()
			c := New(Options{Rate: 1000, MaxAttempts: 3, Backoff: time.Millisecond})
			var body []byte
			err := c.Fetch(t.Context(), get(srv.URL), func(resp *http.Response) error {
				var err error
				body, err = io.ReadAll(resp.Body)
				return err
			})
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Fatalf("Fetch = %v, want an error: %v, a short body's", err, tt.wantErr)
			}
			if !tt.wantErr && string(body) != "0123456789" {
				t.Errorf("body %q, want the whole one", body)
			}
			if got := sends.Load(); got != tt.sends {
				t.Errorf("%d requests sent, want %d", got, tt.sends)
			}
		})
	}
}
