package notices

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// defaultClient bounds every phase of a feed download. The DSA list is
// under a megabyte; ten minutes covers a slow mirror.
func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialContext = dialer.DialContext
	tr.TLSHandshakeTimeout = 30 * time.Second
	tr.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: tr, Timeout: 10 * time.Minute}
}

// open returns the feed at location, a file path or an http(s) URL, and a
// name for it that is safe to log.
func open(ctx context.Context, client *http.Client, location string) (io.ReadCloser, string,
	error) {
	if !isURL(location) {
		f, err := os.Open(location)
		if err != nil {
			return nil, "", fmt.Errorf("open notice list: %w", err)
		}
		return f, location, nil
	}
	name := redact(location)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		// url.Error quotes the URL as given, userinfo included.
		return nil, "", fmt.Errorf("fetch %s: %w", name, unwrapURLError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, "", fmt.Errorf("fetch %s: status %s", name, resp.Status)
	}
	return resp.Body, name, nil
}

func isURL(location string) bool {
	return strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://")
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// redact returns location without userinfo or query, which may hold
// credentials. File paths are returned as they are.
func redact(location string) string {
	if !isURL(location) {
		return location
	}
	u, err := url.Parse(location)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
