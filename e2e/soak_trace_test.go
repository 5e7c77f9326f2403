//go:build !js

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// soakTrace records, through standin.Options.Trace, where each soak event was stored and which
// channels every connection subscribed from which id, so that a lost event can be explained. Channel
// keys are kept as short fingerprints only.
type soakTrace struct {
	began     time.Time
	mu        sync.Mutex
	pubs      map[string]soakStored // "shared#12" → where it went
	subs      []soakSub
	configs   []soakSub                // config answers: the keys of their private and shared channels
	made      map[string]time.Duration // when each channel was made
	announced map[string]bool          // channel fingerprints some config answer named
}

type soakStored struct {
	at   time.Duration
	mid  string
	keys []string
}

type soakSub struct {
	at   time.Duration
	keys []string
	mid  string
}

func newSoakTrace() *soakTrace {
	return &soakTrace{began: time.Now(), pubs: map[string]soakStored{}, made: map[string]time.Duration{}, announced: map[string]bool{}}
}

// startAt sets the time the offsets count from (the soak's start, as in its fault log).
func (tr *soakTrace) startAt(t time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.began = t
}

// record is the stand-in's Trace hook.
func (tr *soakTrace) record(what string, keys []string, mid string, body []byte) {
	fps := make([]string, len(keys))
	for i, k := range keys {
		fps[i] = fingerprint(k)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	at := time.Since(tr.began)
	switch what {
	case "publish":
		if p := gjson.GetBytes(body, "params"); p.Get("s").Exists() {
			tr.pubs[fmt.Sprintf("%s#%d", p.Get("s").String(), p.Get("n").Int())] = soakStored{at: at, mid: mid, keys: fps}
		}
		// A channel_expire's new_channel names the successor to whoever receives it.
		if gjson.GetBytes(body, "command").String() == "channel_expire" {
			if id := gjson.GetBytes(body, "params.new_channel.id").String(); id != "" {
				if i := strings.LastIndexByte(id, '.'); i >= 0 {
					id = id[:i]
				}
				tr.announced[fingerprint(id)] = true
			}
		}
	case "subscribe":
		tr.subs = append(tr.subs, soakSub{at: at, keys: fps, mid: mid})
	case "config":
		tr.configs = append(tr.configs, soakSub{at: at, keys: fps})
		for _, fp := range fps {
			tr.announced[fp] = true
		}
	case "channel":
		for _, fp := range fps {
			tr.made[fp] = at
		}
	}
}

// fingerprint is a short, one-way name for a channel key, safe to print.
func fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:3])
}

// unannounced reports whether event was stored only on channels that neither a config answer nor a
// channel_expire's new_channel ever named: private channels that lived less than one config round
// trip (a forced rotation right after a natural one), whose ids no client could learn (a private
// channel's channel_expire names no successor). Such an event is out of any client's reach.
func (tr *soakTrace) unannounced(event string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	st, ok := tr.pubs[event]
	if !ok {
		return false
	}
	for _, fp := range st.keys {
		if tr.announced[fp] {
			return false
		}
	}
	return true
}

// explain describes where the lost event went, when its channels were made, and the config answers,
// subscriptions (runs of identical ones, as long polling makes, shown once with their count) and
// page console lines (console, each "<unix ms> <level>: <text>") from 3 s before it to 6 s after.
func (tr *soakTrace) explain(event string, console []string) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	st, ok := tr.pubs[event]
	if !ok {
		return event + ": not stored"
	}
	from, to := st.at-3*time.Second, st.at+6*time.Second
	in := func(at time.Duration) bool { return at >= from && at <= to }
	var b strings.Builder
	fmt.Fprintf(&b, "%s: stored at %.3fs as %s on %v", event, st.at.Seconds(), st.mid[16:], st.keys)
	for _, fp := range st.keys {
		if at, ok := tr.made[fp]; ok {
			fmt.Fprintf(&b, "; %s made at %.3fs", fp, at.Seconds())
		}
	}
	fmt.Fprintf(&b, "\n  config answers from %.1fs:", from.Seconds())
	for _, c := range tr.configs {
		if in(c.at) {
			fmt.Fprintf(&b, "\n    %.3fs %v", c.at.Seconds(), c.keys)
		}
	}
	fmt.Fprintf(&b, "\n  subscriptions from %.1fs:", from.Seconds())
	var last *soakSub
	repeats := 0
	flush := func() {
		if repeats > 0 {
			fmt.Fprintf(&b, " (and %d more to %.3fs)", repeats, last.at.Seconds())
		}
		repeats = 0
	}
	for i := range tr.subs {
		s := &tr.subs[i]
		if !in(s.at) {
			continue
		}
		if last != nil && slices.Equal(last.keys, s.keys) && s.at-last.at < 100*time.Millisecond {
			repeats++
			last = s
			continue
		}
		flush()
		mid := s.mid
		if len(mid) > 16 {
			mid = mid[16:]
		}
		fmt.Fprintf(&b, "\n    %.3fs %v from %s", s.at.Seconds(), s.keys, mid)
		last = s
	}
	flush()
	fmt.Fprintf(&b, "\n  page console from %.1fs:", from.Seconds())
	began := tr.began.UnixMilli()
	for _, line := range console {
		stamp, text, ok := strings.Cut(line, " ")
		ms, err := strconv.ParseInt(stamp, 10, 64)
		if !ok || err != nil {
			continue
		}
		if at := time.Duration(ms-began) * time.Millisecond; in(at) {
			fmt.Fprintf(&b, "\n    %.3fs %s", at.Seconds(), text)
		}
	}
	return b.String()
}
