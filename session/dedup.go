package session

// dedup remembers the last n message ids, in the order they arrived, with the server time each was
// published at. It is kept across reconnects, channel rotations and stop/start, so that a replay
// overlapping what was already delivered is skipped. The times let a switch to a channel the client
// learnt of late resume from before that channel began (see Machine.setCfgFrom).
type dedup struct {
	ring  []string
	times []float64 // server_time_unix of ring[i]; 0 when the message carried none
	next  int
	count uint64            // ids recorded so far: the arrival number of the next one
	seen  map[string]uint64 // id → its arrival number
}

// DefaultDedupWindow is how many message ids are remembered. The reference clients keep 10, which a
// replay after a long reconnect easily exceeds.
const DefaultDedupWindow = 1000

func newDedup(n int) *dedup {
	if n <= 0 {
		n = DefaultDedupWindow
	}
	return &dedup{ring: make([]string, n), times: make([]float64, n), seen: make(map[string]uint64, n)}
}

// add records id, published at server time t (unix seconds, 0 when unknown), and reports whether it
// is new. An empty id is always new and never recorded.
func (d *dedup) add(id string, t float64) bool {
	if id == "" {
		return true
	}
	if _, ok := d.seen[id]; ok {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.seen, old)
	}
	d.ring[d.next], d.times[d.next] = id, t
	d.seen[id] = d.count
	d.count++
	d.next = (d.next + 1) % len(d.ring)
	return true
}

// has reports whether id is remembered.
func (d *dedup) has(id string) bool {
	_, ok := d.seen[id]
	return ok
}

// arrival returns the arrival number of a remembered id.
func (d *dedup) arrival(id string) (uint64, bool) {
	n, ok := d.seen[id]
	return n, ok
}

// before returns a position from which a replay brings every message published from server time t
// on: the id that arrived just before the first one (in arrival order) published at or after t, or
// the newest id when none was. Arrival order, not the ids' times, decides, so that a message
// published late with an early time (a portal process that took long to send it) does not pass for
// the last one before t. The search stays within the newer half of the window, whose oldest id is
// the answer when every id in it is that recent: replaying from further back could bring messages
// that have left the window, and deliver them twice. ok is false when no id is remembered.
func (d *dedup) before(t float64) (id string, ok bool) {
	span := len(d.ring) / 2
	if span < 1 {
		span = 1
	}
	i := d.next
	after := false // the id visited last (the next newer one) was published at or after t
	oldest := ""
	for k := 0; k < span; k++ {
		i = (i - 1 + len(d.ring)) % len(d.ring)
		if d.ring[i] == "" {
			break
		}
		if !ok || after {
			id, ok = d.ring[i], true
		}
		oldest = d.ring[i]
		after = d.times[i] >= t
	}
	if after {
		id = oldest
	}
	return id, ok
}

func (d *dedup) reset() {
	clear(d.ring)
	clear(d.times)
	clear(d.seen)
	d.next = 0
}
