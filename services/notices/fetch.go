package notices

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

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

// fetcher downloads feed documents with conditional requests. The
// platform client keeps to the rate per host and retries network errors,
// 429 (after its Retry-After), 5xx and a body cut short. It is safe for
// concurrent use.
type fetcher struct {
	client  *fetch.Client
	maxBody int64
}

// get fetches location, sending prev's validators, and reads the whole
// body.
func (f *fetcher) get(ctx context.Context, location string, prev validators) (fetched, error) {
	var out fetched
	err := f.client.Fetch(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
		if err != nil {
			return nil, err
		}
		if prev.etag != "" {
			req.Header.Set("If-None-Match", prev.etag)
		}
		if prev.lastModified != "" {
			req.Header.Set("If-Modified-Since", prev.lastModified)
		}
		return req, nil
	}, func(resp *http.Response) error {
		if resp.StatusCode == http.StatusNotModified {
			out = fetched{v: prev, notModified: true}
			return nil
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fetch.Error(resp)
		}
		var err error
		out, err = f.read(resp, prev)
		return err
	})
	if err != nil {
		return fetched{}, fmt.Errorf("fetch %s: %w", redact.URL(location), err)
	}
	return out, nil
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

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
