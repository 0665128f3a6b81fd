// Package fetch is crawlspace's polite HTTP client: it keeps to a request
// rate per host, waits as long as a 429 response's Retry-After asks, and
// retries transient failures with exponential backoff.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"crawlspace.dev/services/platform/redact"

	"golang.org/x/time/rate"
)

// Options tunes a [Client]. Zero fields take the defaults shown.
type Options struct {
	// HTTP sends the requests. Default http.DefaultClient.
	HTTP *http.Client
	// Rate is the most requests per second sent to one host. Default 5.
	Rate float64
	// Burst is how many requests to one host may go at once. Default 1.
	Burst int
	// MaxAttempts bounds the tries of one request. Default 5.
	MaxAttempts int
	// Backoff is the delay before the first retry; each later one doubles,
	// up to MaxDelay, and up to half again is added at random. Default
	// 500ms.
	Backoff time.Duration
	// MaxDelay caps any wait, Retry-After included. Default 1 minute.
	MaxDelay time.Duration
	// UserAgent is sent with every request. Default "crawlspace-collector".
	UserAgent string
}

// Client sends requests within its per-host limits. It is safe for
// concurrent use.
type Client struct {
	opts     Options
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// New returns a Client with opts, defaults filled in.
func New(opts Options) *Client {
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	if opts.Rate <= 0 {
		opts.Rate = 5
	}
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Minute
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "crawlspace-collector"
	}
	return &Client{opts: opts, limiters: map[string]*rate.Limiter{}}
}

// StatusError is a response that was not a success after every retry.
type StatusError struct {
	// Method and URL name the request; URL carries no userinfo.
	Method, URL string
	// Code is the HTTP status code.
	Code int
	// Header is the response's header.
	Header http.Header
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
}

// limiter returns the rate limiter of host.
func (c *Client) limiter(host string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limiters[host]
	if !ok {
		l = rate.NewLimiter(rate.Limit(c.opts.Rate), c.opts.Burst)
		c.limiters[host] = l
	}
	return l
}

// RequestFunc builds one attempt of a request.
type RequestFunc func(ctx context.Context) (*http.Request, error)

// Do sends the request newReq builds, building it afresh for each attempt,
// and returns the first response that is neither a 429 nor a 5xx. The
// caller closes its body. Any other status is returned as is, so that the
// caller can answer a 401.
func (c *Client) Do(ctx context.Context, newReq RequestFunc) (*http.Response, error) {
	var out *http.Response
	err := c.Fetch(ctx, newReq, func(resp *http.Response) error {
		out = resp
		return errKeep
	})
	if errors.Is(err, errKeep) {
		return out, nil
	}
	return nil, err
}

// errKeep is how Do's use keeps the response open.
var errKeep = errors.New("keep the response")

// Fetch is [Client.Do] that hands the response to use, which reads it, and
// closes its body after. A body cut short, an error from use that wraps
// io.ErrUnexpectedEOF, is retried like a 5xx, within the same attempts.
// Fetch returns use's error.
func (c *Client) Fetch(ctx context.Context, newReq RequestFunc,
	use func(*http.Response) error) error {
	delay := c.opts.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		req, err := newReq(ctx)
		if err != nil {
			return err
		}
		resp, wait, err := c.try(ctx, req)
		if err == nil {
			err = use(resp)
			if errors.Is(err, errKeep) {
				return err
			}
			_ = resp.Body.Close()
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				return err
			}
		}
		last = err
		if attempt >= c.opts.MaxAttempts || ctx.Err() != nil {
			return last
		}
		if wait <= 0 {
			// Up to half again at random, so that replicas retrying one
			// host do not keep arriving together.
			wait, delay = delay+rand.N(delay/2+1), min(2*delay, c.opts.MaxDelay)
		}
		if err := Sleep(ctx, min(wait, c.opts.MaxDelay)); err != nil {
			return last
		}
	}
}

// try sends req once. A retryable outcome is an error, with the wait the
// server asked for, if it asked.
func (c *Client) try(ctx context.Context,
	req *http.Request) (*http.Response, time.Duration, error) {
	if err := c.limiter(req.URL.Host).Wait(ctx); err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", req.Method, redact.Parsed(req.URL), unwrapURL(err))
	}
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return resp, 0, nil
	}
	drain(resp)
	wait := RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return nil, wait, &StatusError{Method: req.Method, URL: redact.Parsed(req.URL),
		Code: resp.StatusCode, Header: resp.Header}
}

// RetryAfter reads a Retry-After value, in seconds or as an HTTP date, as
// a wait from now. It returns 0 when v says nothing usable.
func RetryAfter(v string, now time.Time) time.Duration {
	if v = strings.TrimSpace(v); v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Error returns a [StatusError] for a response the caller cannot use, and
// closes its body.
func Error(resp *http.Response) error {
	drain(resp)
	return &StatusError{Method: resp.Request.Method, URL: redact.Parsed(resp.Request.URL),
		Code: resp.StatusCode, Header: resp.Header}
}

// IsStatus reports whether err is a [StatusError] with code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// redacted is the request's URL without userinfo or query, which may hold

// unwrapURL strips the *url.Error, whose message repeats the full URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Sleep waits for d, or returns ctx's error when ctx ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
