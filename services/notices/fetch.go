package notices

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"crawlspace.dev/services/platform/fetch"
	"crawlspace.dev/services/platform/redact"
)

// ErrTooLarge is wrapped when a feed document exceeds [Options.MaxBody].
var ErrTooLarge = errors.New("feed document too large")

// defaultClient bounds every phase of a feed download. The tracker JSON
// is about 70 MB; ten minutes covers a slow mirror.
func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialContext = dialer.DialContext
	tr.TLSHandshakeTimeout = 30 * time.Second
	tr.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: tr, Timeout: 10 * time.Minute}
}

// validators are what a server said identifies a document's version.
type validators struct {
	etag, lastModified, sha string
}

// fetched is one downloaded document; notModified means the server (or
// the body's hash) said it is the one stored before.
type fetched struct {
	body        []byte
	v           validators
	notModified bool
}

// fetcher downloads feed documents with conditional requests, retries and
// a rate limit per host. It is safe for concurrent use.
type fetcher struct {
	client   *http.Client
	attempts int
	backoff  time.Duration
	maxWait  time.Duration
	maxBody  int64
	perHost  rate.Limit

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// statusError is an HTTP status that is not success.
type statusError struct {
	code       int
	status     string
	retryAfter time.Duration
}

func (e *statusError) Error() string { return "status " + e.status }

func (e *statusError) retryable() bool {
	return e.code == http.StatusTooManyRequests || e.code >= 500
}

// get fetches location, sending prev's validators, retrying transient
// failures (network errors, 429, 5xx, a body cut short) with exponential
// backoff and jitter, or after Retry-After when the server sends one.
func (f *fetcher) get(ctx context.Context, location string, prev validators) (fetched, error) {
	name := redact.URL(location)
	var last error
	for attempt := 0; attempt < f.attempts; attempt++ {
		if attempt > 0 {
			if err := fetch.Sleep(ctx, f.wait(attempt, last)); err != nil {
				return fetched{}, fmt.Errorf("fetch %s: %w", name, err)
			}
		}
		res, err := f.once(ctx, location, prev)
		if err == nil {
			return res, nil
		}
		last = err
		var se *statusError
		if ctx.Err() != nil || errors.Is(err, ErrTooLarge) ||
			(errors.As(err, &se) && !se.retryable()) {
			break
		}
	}
	return fetched{}, fmt.Errorf("fetch %s: %w", name, last)
}

// wait is how long to sleep before the given retry.
func (f *fetcher) wait(attempt int, last error) time.Duration {
	var se *statusError
	if errors.As(last, &se) && se.retryAfter > 0 {
		return min(se.retryAfter, f.maxWait)
	}
	d := f.backoff << (attempt - 1)
	d += rand.N(d/2 + 1)
	return min(d, f.maxWait)
}

// once makes one conditional request and reads the whole body.
func (f *fetcher) once(ctx context.Context, location string, prev validators) (fetched,
	error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return fetched{}, err
	}
	if prev.etag != "" {
		req.Header.Set("If-None-Match", prev.etag)
	}
	if prev.lastModified != "" {
		req.Header.Set("If-Modified-Since", prev.lastModified)
	}
	if err := f.limiter(req.URL.Host).Wait(ctx); err != nil {
		return fetched{}, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		// url.Error quotes the URL as given, userinfo included.
		return fetched{}, unwrapURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return fetched{v: prev, notModified: true}, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fetched{}, &statusError{code: resp.StatusCode, status: resp.Status,
			retryAfter: fetch.RetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return f.read(resp, prev)
}

// read reads resp's body, failing on a body shorter than its
// Content-Length or longer than maxBody.
func (f *fetcher) read(resp *http.Response, prev validators) (fetched, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
	if err != nil {
		return fetched{}, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > f.maxBody {
		return fetched{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, f.maxBody)
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return fetched{}, fmt.Errorf("read body: %d of %d bytes: %w", len(body),
			resp.ContentLength, io.ErrUnexpectedEOF)
	}
	v := validators{etag: resp.Header.Get("ETag"),
		lastModified: resp.Header.Get("Last-Modified"), sha: digest(body)}
	return fetched{body: body, v: v, notModified: prev.sha != "" && v.sha == prev.sha}, nil
}

func (f *fetcher) limiter(host string) *rate.Limiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.limiters[host]
	if !ok {
		l = rate.NewLimiter(f.perHost, 1)
		f.limiters[host] = l
	}
	return l
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
