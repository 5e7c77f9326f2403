package standin

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// Storage limits of the push server (docs/protocol.md §3.3, §21.3).
const (
	// messageTTL caps how long a message is stored, whatever its expiry.
	messageTTL = 86400
	// maxStoredPerChannel bounds the history of one channel; the oldest messages go first.
	maxStoredPerChannel = 10000
)

// message is one published message as the push server holds it.
type message struct {
	seq     uint64
	mid     string // 10-digit server start time + 16-digit counter
	body    []byte // the message JSON (text publishes: the raw body)
	expiry  uint32 // storage lifetime in seconds; 0 = delivered live only
	created time.Time
	sender  protocol.PBSender
	channel string // first raw channel id of the publish (Push server 1.0's envelope channel)

	userParams json.RawMessage // JSON-RPC only
	dictionary json.RawMessage // JSON-RPC only
}

// midBytes is the id as Push server 2.0 stores it: the 26 digits read as hex, 13 bytes.
func (m *message) midBytes() []byte {
	b, _ := hex.DecodeString(m.mid)
	return b
}

// subscriber receives messages. Both methods are called with the hub locked and must not block:
// replay once, at subscription, with the stored messages newer than the subscriber's mid (before any
// live message), deliver for every live message.
type subscriber interface {
	replay(msgs []*message)
	deliver(m *message)
}

type storedMessage struct {
	m     *message
	until time.Time
}

type hubChannel struct {
	stored []storedMessage // ascending seq
	subs   map[subscriber]struct{}
}

// hub is the push server's "Redis": message ids, per-channel histories and the subscribers of every
// channel key (a raw channel id, or a version 5 user key). It survives push server restarts.
type hub struct {
	mu    sync.Mutex
	start int64 // server:startdate, unix s
	seq   uint64
	chans map[string]*hubChannel
	trace func(what string, keys []string, mid string, body []byte) // Options.Trace
}

func newHub(start int64, seq uint64, trace func(string, []string, string, []byte)) *hub {
	return &hub{start: start, seq: seq, chans: map[string]*hubChannel{}, trace: trace}
}

func (h *hub) channel(key string) *hubChannel {
	c := h.chans[key]
	if c == nil {
		c = &hubChannel{subs: map[subscriber]struct{}{}}
		h.chans[key] = c
	}
	return c
}

// publish gives m its id, stores it on every key when its expiry is positive and hands it to every
// subscriber of any of the keys, once per subscriber, in id order. It returns how many subscribers
// got it.
func (h *hub) publish(keys []string, m *message, now time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	m.seq = h.seq
	m.mid = fmt.Sprintf("%010d%016d", h.start, h.seq)
	if m.created.IsZero() {
		m.created = now
	}
	if h.trace != nil {
		h.trace("publish", keys, m.mid, m.body)
	}
	ttl := int64(m.expiry)
	if ttl > messageTTL {
		ttl = messageTTL
	}
	seen := map[subscriber]struct{}{}
	doneKeys := map[string]struct{}{}
	delivered := 0
	for _, key := range keys {
		if _, dup := doneKeys[key]; dup {
			continue
		}
		doneKeys[key] = struct{}{}
		c := h.channel(key)
		if ttl > 0 {
			c.prune(now)
			c.stored = append(c.stored, storedMessage{m: m, until: now.Add(time.Duration(ttl) * time.Second)})
			if len(c.stored) > maxStoredPerChannel {
				c.stored = c.stored[len(c.stored)-maxStoredPerChannel:]
			}
		}
		for sub := range c.subs {
			if _, ok := seen[sub]; ok {
				continue
			}
			seen[sub] = struct{}{}
			sub.deliver(m)
			delivered++
		}
		h.dropIfEmpty(key, c)
	}
	return delivered
}

// deliverTo gives m the next id and hands it to subs, live only: nothing is stored, whatever m's
// expiry. Allocation and delivery happen under one lock, so ids reach every subscriber in order.
func (h *hub) deliverTo(subs []subscriber, m *message, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	m.seq = h.seq
	m.mid = fmt.Sprintf("%010d%016d", h.start, h.seq)
	if m.created.IsZero() {
		m.created = now
	}
	for _, sub := range subs {
		sub.deliver(m)
	}
}

// nextMID allocates a message id without publishing anything (frames built outside the store).
func (h *hub) nextMID() (uint64, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return h.seq, fmt.Sprintf("%010d%016d", h.start, h.seq)
}

// subscribe adds sub to keys and, when mid is set, hands sub.replay every stored, unexpired message
// of those keys newer than mid, once each, in id order; it returns how many. Registration and the
// history read happen under one lock, so a message is either in the replay or delivered live, never
// both and never neither.
func (h *hub) subscribe(sub subscriber, keys []string, mid string, now time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.trace != nil {
		h.trace("subscribe", keys, mid, nil)
	}
	var replay []*message
	seen := map[uint64]struct{}{}
	for _, key := range keys {
		c := h.channel(key)
		c.subs[sub] = struct{}{}
		if mid == "" {
			continue
		}
		c.prune(now)
		for _, sm := range c.stored {
			if sm.m.mid <= mid {
				continue
			}
			if _, dup := seen[sm.m.seq]; dup {
				continue
			}
			seen[sm.m.seq] = struct{}{}
			replay = append(replay, sm.m)
		}
	}
	sort.Slice(replay, func(i, j int) bool { return replay[i].seq < replay[j].seq })
	if len(replay) > 0 {
		sub.replay(replay)
	}
	return len(replay)
}

// unsubscribe removes sub from keys.
func (h *hub) unsubscribe(sub subscriber, keys []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, key := range keys {
		if c := h.chans[key]; c != nil {
			delete(c.subs, sub)
			h.dropIfEmpty(key, c)
		}
	}
}

// newestMID returns the newest stored, unexpired message id of keys; "" when there is none.
func (h *hub) newestMID(keys []string, now time.Time) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	newest := ""
	for _, key := range keys {
		c := h.chans[key]
		if c == nil {
			continue
		}
		c.prune(now)
		if n := len(c.stored); n > 0 && c.stored[n-1].m.mid > newest {
			newest = c.stored[n-1].m.mid
		}
	}
	return newest
}

// subscribers returns how many subscribers key has.
func (h *hub) subscribers(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.chans[key]; c != nil {
		return len(c.subs)
	}
	return 0
}

func (h *hub) dropIfEmpty(key string, c *hubChannel) {
	if len(c.stored) == 0 && len(c.subs) == 0 {
		delete(h.chans, key)
	}
}

// prune drops expired messages (expiries differ per message, so every entry is checked).
func (c *hubChannel) prune(now time.Time) {
	kept := c.stored[:0]
	for _, sm := range c.stored {
		if now.Before(sm.until) {
			kept = append(kept, sm)
		}
	}
	clear(c.stored[len(kept):])
	c.stored = kept
}
