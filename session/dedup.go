package session

// dedup remembers the last n message ids. It is kept across reconnects, channel rotations and
// stop/start, so that a replay overlapping what was already delivered is skipped.
type dedup struct {
	ring []string
	next int
	seen map[string]struct{}
}

// DefaultDedupWindow is how many message ids are remembered. The reference clients keep 10, which a
// replay after a long reconnect easily exceeds.
const DefaultDedupWindow = 1000

func newDedup(n int) *dedup {
	if n <= 0 {
		n = DefaultDedupWindow
	}
	return &dedup{ring: make([]string, n), seen: make(map[string]struct{}, n)}
}

// add records id and reports whether it is new. An empty id is always new and never recorded.
func (d *dedup) add(id string) bool {
	if id == "" {
		return true
	}
	if _, ok := d.seen[id]; ok {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.seen, old)
	}
	d.ring[d.next] = id
	d.seen[id] = struct{}{}
	d.next = (d.next + 1) % len(d.ring)
	return true
}

func (d *dedup) reset() {
	clear(d.ring)
	clear(d.seen)
	d.next = 0
}
