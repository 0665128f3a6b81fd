// Package debian parses the Debian security tracker's advisory lists,
// data/DSA/list and data/DLA/list, into [advisory.Notice] values.
//
// Each record is a header line followed by indented lines (tabs or spaces):
//
//	[29 Mar 2023] DSA-5380-1 xorg-server - security update
//		{CVE-2023-1393}
//		[bullseye] - xorg-server 2:1.20.11-1+deb11u6
//		[buster] - foo <not-affected> (vulnerable code not present)
//		NOTE: free text
//
// A suite line with a version means fixed in that version; <unfixed>,
// <not-affected> and <end-of-life> give those statuses, and any other
// <annotation> gives [advisory.StatusUndetermined]. Text in parentheses
// after the version or annotation, such as "(bug #123)" or "(medium)", is
// ignored.
package debian

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"crawlspace.dev/services/notices/advisory"
)

// TrackerURL is the security tracker page a notice's URL points into.
const TrackerURL = "https://security-tracker.debian.org/tracker/"

// maxLine bounds one line of input. The longest real header or CVE line is
// a few kilobytes; a longer one ends parsing with an error.
const maxLine = 1 << 20

// RecordError describes one malformed record that [Reader.Next] skipped.
type RecordError struct {
	// Name names the input, as given to [NewReader].
	Name string
	// Line is the 1-based line number of the offending line.
	Line int
	// ID is the record's notice id, when its header was readable.
	ID string
	// Err says what was wrong.
	Err error
}

// Error implements error.
func (e *RecordError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("%s line %d: %v", e.Name, e.Line, e.Err)
	}
	return fmt.Sprintf("%s line %d: %s: %v", e.Name, e.Line, e.ID, e.Err)
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// Stats counts what a [Reader] has read so far.
type Stats struct {
	// Notices is the number of well-formed notices returned.
	Notices int
	// Affected is the number of suite lines in those notices.
	Affected int
	// Undetermined is how many of those suite lines carried an annotation
	// this parser does not know, giving [advisory.StatusUndetermined].
	Undetermined int
	// Notes is the number of NOTE: lines in those notices.
	Notes int
	// Malformed is the number of records skipped as malformed.
	Malformed int
}

// Reader reads notices from a DSA or DLA list, one record at a time,
// without holding the list in memory. It is not safe for concurrent use.
type Reader struct {
	name  string
	sc    *bufio.Scanner
	line  int
	back  bool // the current line is pushed back and read again next
	text  string
	seen  map[string]bool
	stats Stats
}

// NewReader returns a Reader of r. name identifies the input in errors,
// such as "DSA-list" or a URL.
func NewReader(r io.Reader, name string) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	return &Reader{name: name, sc: sc, seen: make(map[string]bool)}
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Next returns the next well-formed notice, normalized. At the end of the
// input it returns io.EOF. When a record is malformed it skips the whole
// record and returns a *[RecordError]; the caller may go on calling Next.
// A record whose id was already read is malformed too, so ids are unique.
// Any other error is from reading and ends the input.
func (r *Reader) Next() (advisory.Notice, error) {
	for {
		text, ok := r.readLine()
		if !ok {
			return advisory.Notice{}, r.end()
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		start := r.line
		if indented(text) {
			r.skipBody()
			err := errors.New("indented line outside a record")
			return advisory.Notice{}, r.malformed(start, "", err)
		}
		return r.record(text, start)
	}
}

// record parses the record whose header is text, on line start.
func (r *Reader) record(text string, start int) (advisory.Notice, error) {
	n, err := parseHeader(text)
	if err != nil {
		r.skipBody()
		return advisory.Notice{}, r.malformed(start, "", fmt.Errorf("parse header: %w", err))
	}
	b, line, err := r.readBody(&n)
	if err != nil {
		return advisory.Notice{}, r.malformed(line, n.ID, err)
	}
	n.Normalize()
	if err := n.Validate(); err != nil {
		return advisory.Notice{}, r.malformed(start, n.ID, err)
	}
	if r.seen[n.ID] {
		return advisory.Notice{}, r.malformed(start, n.ID, errors.New("notice id listed twice"))
	}
	r.seen[n.ID] = true
	r.stats.Notices++
	r.stats.Affected += len(n.Affected)
	r.stats.Undetermined += b.undetermined
	r.stats.Notes += b.notes
	return n, nil
}

// body counts what a record's indented lines held besides the notice.
type body struct{ notes, undetermined int }

// readBody reads the indented lines after a header into n. On the first
// bad line it skips the rest of the record and returns that line's number.
func (r *Reader) readBody(n *advisory.Notice) (body, int, error) {
	var b body
	for {
		text, ok := r.readLine()
		if !ok {
			return b, 0, nil
		}
		if !indented(text) && strings.TrimSpace(text) != "" {
			r.unread()
			return b, 0, nil
		}
		if err := parseBodyLine(strings.TrimSpace(text), n, &b); err != nil {
			line := r.line
			r.skipBody()
			return b, line, err
		}
	}
}

// parseBodyLine adds one trimmed indented line to n. Blank lines are
// allowed inside a record.
func parseBodyLine(s string, n *advisory.Notice, b *body) error {
	switch {
	case s == "":
		return nil
	case strings.HasPrefix(s, "{"):
		cves, err := parseCVEs(s)
		if err != nil {
			return fmt.Errorf("parse CVE line: %w", err)
		}
		n.CVEs = append(n.CVEs, cves...)
	case strings.HasPrefix(s, "["):
		a, err := parseSuite(s)
		if err != nil {
			return fmt.Errorf("parse suite line: %w", err)
		}
		if a.Status == advisory.StatusUndetermined {
			b.undetermined++
		}
		n.Affected = append(n.Affected, a)
	case strings.HasPrefix(s, "NOTE:"):
		b.notes++
	default:
		return fmt.Errorf("unknown line %q", clip(s))
	}
	return nil
}

// skipBody reads past indented and blank lines, leaving the next header.
func (r *Reader) skipBody() {
	for {
		text, ok := r.readLine()
		if !ok {
			return
		}
		if !indented(text) && strings.TrimSpace(text) != "" {
			r.unread()
			return
		}
	}
}

func (r *Reader) malformed(line int, id string, err error) *RecordError {
	r.stats.Malformed++
	return &RecordError{Name: r.name, Line: line, ID: id, Err: err}
}

// readLine returns the next line without its line ending.
func (r *Reader) readLine() (string, bool) {
	if r.back {
		r.back = false
		return r.text, true
	}
	if !r.sc.Scan() {
		return "", false
	}
	r.line++
	r.text = strings.TrimSuffix(r.sc.Text(), "\r")
	return r.text, true
}

// unread makes the next readLine return the current line again.
func (r *Reader) unread() { r.back = true }

// end returns io.EOF, or the error that stopped the scanner.
func (r *Reader) end() error {
	if err := r.sc.Err(); err != nil {
		return fmt.Errorf("read %s after line %d: %w", r.name, r.line, err)
	}
	return io.EOF
}

func indented(s string) bool {
	return s != "" && (s[0] == ' ' || s[0] == '\t')
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// ParseAll reads every notice from r. Malformed records are skipped and
// returned as *[RecordError] values alongside the notices; the error is
// only for reading.
func ParseAll(r io.Reader, name string) ([]advisory.Notice, []*RecordError, Stats, error) {
	rd := NewReader(r, name)
	var notices []advisory.Notice
	var skipped []*RecordError
	for {
		n, err := rd.Next()
		var re *RecordError
		switch {
		case err == nil:
			notices = append(notices, n)
		case errors.As(err, &re):
			skipped = append(skipped, re)
		case errors.Is(err, io.EOF):
			return notices, skipped, rd.Stats(), nil
		default:
			return notices, skipped, rd.Stats(), err
		}
	}
}

// dateLayout is the header's date, such as "29 Mar 2023".
const dateLayout = "2 Jan 2006"

// parseHeader reads "[DD Mon YYYY] ID [pkg ...] - description".
func parseHeader(s string) (advisory.Notice, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "[")
	date, rest, closed := strings.Cut(rest, "]")
	if !ok || !closed {
		return advisory.Notice{}, fmt.Errorf("no [date] in %q", clip(s))
	}
	published, err := time.ParseInLocation(dateLayout, date, time.UTC)
	if err != nil {
		return advisory.Notice{}, fmt.Errorf("parse date %q: %w", clip(date), err)
	}
	id, summary, _ := strings.Cut(strings.TrimSpace(rest), " ")
	source, err := sourceOf(id)
	if err != nil {
		return advisory.Notice{}, err
	}
	n := advisory.Notice{
		ID:        id,
		Source:    source,
		Published: published,
		URL:       TrackerURL + id,
	}
	n.Packages, n.Title = splitSummary(strings.TrimSpace(summary))
	return n, nil
}

// splitSummary splits "pkg [pkg ...] - description". Without the " - "
// separator, as in "DSA-4205-1 jessie end-of-life", the whole summary is
// the title and no packages are named.
func splitSummary(s string) ([]string, string) {
	if rest, ok := strings.CutPrefix(s, "-"); ok && (rest == "" || rest[0] == ' ') {
		return nil, strings.TrimSpace(rest)
	}
	pkgs, title, ok := strings.Cut(s, " - ")
	if !ok {
		return nil, s
	}
	return strings.Fields(pkgs), strings.TrimSpace(title)
}

// sourceOf checks a notice id, "DSA-5380-1", "DLA-0001-1" or "DSA-135",
// and returns the feed it belongs to.
func sourceOf(id string) (string, error) {
	prefix, num, _ := strings.Cut(id, "-")
	var source string
	switch prefix {
	case "DSA":
		source = "debian-dsa"
	case "DLA":
		source = "debian-dla"
	default:
		return "", fmt.Errorf("notice id %q: want DSA-N or DLA-N", clip(id))
	}
	number, revision, hasRevision := strings.Cut(num, "-")
	if !digits(number) || (hasRevision && !digits(revision)) {
		return "", fmt.Errorf("notice id %q: want DSA-N or DSA-N-N", clip(id))
	}
	return source, nil
}

// parseCVEs reads "{CVE-2023-1 CVE-2023-2}"; "{ CVE-2006-0467 }" and "{}"
// are allowed.
func parseCVEs(s string) ([]string, error) {
	inner, ok := strings.CutSuffix(s[1:], "}")
	if !ok {
		return nil, fmt.Errorf("no closing brace in %q", clip(s))
	}
	cves := strings.Fields(inner)
	for _, c := range cves {
		if !isCVE(c) {
			return nil, fmt.Errorf("not a CVE id: %q", clip(c))
		}
	}
	return cves, nil
}

// isCVE reports whether s is CVE-YYYY-NNNN with four or more digits.
func isCVE(s string) bool {
	rest, ok := strings.CutPrefix(s, "CVE-")
	year, seq, ok2 := strings.Cut(rest, "-")
	return ok && ok2 && len(year) == 4 && digits(year) && len(seq) >= 4 && digits(seq)
}

// annotations maps the suite-line annotations with a status of their own.
var annotations = map[string]advisory.Status{
	"<unfixed>":      advisory.StatusUnfixed,
	"<not-affected>": advisory.StatusNotAffected,
	"<end-of-life>":  advisory.StatusEndOfLife,
}

// parseSuite reads "[suite] - srcpkg version|<annotation> [(comment)]".
func parseSuite(s string) (advisory.Affected, error) {
	suite, rest, ok := strings.Cut(s[1:], "]")
	if !ok || !isName(suite) {
		return advisory.Affected{}, fmt.Errorf("no [suite] in %q", clip(s))
	}
	f := strings.Fields(rest)
	if len(f) < 3 || f[0] != "-" {
		return advisory.Affected{}, fmt.Errorf("want \"[suite] - package version\", got %q",
			clip(s))
	}
	if len(f) > 3 && (!strings.HasPrefix(f[3], "(") || !strings.HasSuffix(f[len(f)-1], ")")) {
		return advisory.Affected{}, fmt.Errorf("unexpected text after version in %q", clip(s))
	}
	if !isName(f[1]) {
		return advisory.Affected{}, fmt.Errorf("bad package name %q", clip(f[1]))
	}
	a := advisory.Affected{Ecosystem: advisory.EcosystemDpkg, Release: suite, Package: f[1]}
	switch v := f[2]; {
	case strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") && len(v) > 2:
		a.Status = annotations[v]
		if a.Status == "" {
			a.Status = advisory.StatusUndetermined
		}
	case isVersion(v):
		a.Status, a.FixedVersion = advisory.StatusFixed, v
	default:
		return advisory.Affected{}, fmt.Errorf("bad version %q", clip(v))
	}
	return a, nil
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isName reports whether s is a Debian package or suite name: lowercase
// letters, digits, '.', '+' and '-', starting with a letter or digit.
func isName(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isLowerAlnum(c) && c != '.' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

// isVersion reports whether s uses only the characters dpkg allows in a
// version. It does not insist on a leading digit: the DSA list has one
// version, DSA-423's, that is a package name, and it is kept verbatim.
func isVersion(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && !strings.ContainsRune(".+~:-", rune(c)) {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}
