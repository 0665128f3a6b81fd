package imagefs

// chunkSize is how many entries a [Collector] holds in one chunk.
const chunkSize = 1024

// Collector gathers the entries of a layer of unknown size. It keeps them
// in chunks and joins them once at the end, which spares a layer of many
// entries the copies and the slack of a growing slice. The zero value is
// empty and ready to use.
type Collector struct {
	full [][]Entry
	cur  []Entry
}

// Add appends e.
func (c *Collector) Add(e Entry) {
	c.cur = append(c.cur, e)
	if len(c.cur) == chunkSize {
		c.full = append(c.full, c.cur)
		c.cur = make([]Entry, 0, chunkSize)
	}
}

// Entries returns the entries added, in order, or nil when there are none,
// and empties c. Joining the chunks briefly holds each entry twice.
func (c *Collector) Entries() []Entry {
	if len(c.full) == 0 {
		out := c.cur
		c.cur = nil
		return out
	}
	n := len(c.full)*chunkSize + len(c.cur)
	out := make([]Entry, 0, n)
	for _, chunk := range c.full {
		out = append(out, chunk...)
	}
	out = append(out, c.cur...)
	c.full, c.cur = nil, nil
	return out
}
