package crawler

import "errors"

// Sentinels for crawl failures that retrying cannot mend; [IsPermanent]
// reports them. Any other crawl error (a refused connection, a timeout, a
// layer whose bytes do not match its digest) may pass on a later try.
var (
	// ErrInvalidReference reports a reference that does not parse.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrNotFound reports an image, tag, repository or blob that its
	// registry or local store says does not exist, or denies to us.
	ErrNotFound = errors.New("image not found")
	// ErrUnreadable reports an image whose content is broken or hostile
	// beyond what a crawl accepts: a layer that is not a tar, a captured
	// file over its limit, a package database that does not parse.
	ErrUnreadable = errors.New("unreadable image")
	// ErrLimit reports an image over one of the crawl's [Limits]: too many
	// bytes or files, a file too large, or a crawl that took too long.
	ErrLimit = errors.New("image over a crawl limit")
)

// IsPermanent reports whether err is a crawl failure that retrying cannot
// mend.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrInvalidReference) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, ErrUnreadable) || errors.Is(err, ErrLimit)
}
