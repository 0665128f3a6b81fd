package advisory

import "fmt"

// RecordError describes one malformed record that a feed parser skipped.
// The rest of the feed is kept.
type RecordError struct {
	// Name names the input: a file path, URL or archive member.
	Name string
	// Pos says where in the input the record is, in the feed's own terms,
	// such as "line 12", "packages[3]" or "CVE-2023-1234".
	Pos string
	// ID is the record's notice id, when it was readable.
	ID string
	// Err says what was wrong.
	Err error
}

// Error implements error.
func (e *RecordError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("%s %s: %v", e.Name, e.Pos, e.Err)
	}
	return fmt.Sprintf("%s %s: %s: %v", e.Name, e.Pos, e.ID, e.Err)
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// Feed is what a parser read from one document of a feed.
type Feed struct {
	// Notices are the well-formed notices, normalized and valid.
	Notices []Notice
	// Malformed lists the records skipped, with their position.
	Malformed []*RecordError
	// Undetermined counts affected entries whose status the feed gave in
	// words the parser does not know.
	Undetermined int
	// Skipped counts affected entries left out on purpose, such as
	// ecosystems crawlspace does not match (Ubuntu Pro, NuGet).
	Skipped int
}

// Add normalizes n and keeps it when it validates, or records it as
// malformed at pos.
func (f *Feed) Add(name, pos string, n Notice) {
	n.Normalize()
	if err := n.Validate(); err != nil {
		f.Malformed = append(f.Malformed, &RecordError{Name: name, Pos: pos, ID: n.ID, Err: err})
		return
	}
	for _, a := range n.Affected {
		if a.Status == StatusUndetermined {
			f.Undetermined++
		}
	}
	f.Notices = append(f.Notices, n)
}

// Skip records a malformed record at pos.
func (f *Feed) Skip(name, pos, id string, err error) {
	f.Malformed = append(f.Malformed, &RecordError{Name: name, Pos: pos, ID: id, Err: err})
}
