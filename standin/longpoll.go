package standin

import (
	"net/http"
	"sync"
	"time"
)

// lpExpires is the magic Expires header of an idle long poll (docs/protocol.md §5.2).
const lpExpires = "Thu, 01 Jan 1973 11:11:01 GMT"

// lpControl is a fault sent to a held long poll.
type lpControl struct {
	kind   string // "drop", "close", "garbage", "oversized"
	code   int
	reason string
	size   int
}

// longPoll is one held long-polling request. The first live message or the replay completes it.
type longPoll struct {
	mu       sync.Mutex
	msgs     []*message
	isReplay bool
	ready    chan struct{}
	ctl      chan lpControl
	user     int
}

func newLongPoll(user int) *longPoll {
	return &longPoll{ready: make(chan struct{}), ctl: make(chan lpControl, 4), user: user}
}

func (p *longPoll) replay(msgs []*message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.msgs == nil {
		p.msgs, p.isReplay = msgs, true
		close(p.ready)
	}
}

func (p *longPoll) deliver(m *message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.msgs == nil {
		p.msgs = []*message{m}
		close(p.ready)
	}
}

// control hands the poll a fault without blocking.
func (p *longPoll) control(c lpControl) {
	select {
	case p.ctl <- c:
	default:
	}
}

// serveLongPoll answers one long-polling GET: a replay or the first message at once with 200, an
// idle hold with 304, bad channels with 400.
func (s *Server) serveLongPoll(w http.ResponseWriter, r *http.Request, sub *subscription, perr *pushError) {
	if perr != nil {
		s.stats.handshakesRefused.Add(1)
		writePushError(w, perr)
		return
	}
	if !s.enter() {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	defer s.leave()
	p := newLongPoll(sub.user)
	if !s.addPoll(p, s.generation()) {
		dropRequest(w)
		return
	}
	defer s.removePoll(p)
	s.hub.subscribe(p, sub.keys, sub.mid, s.now())
	defer s.hub.unsubscribe(p, sub.keys)
	s.stats.longPolls.Add(1)
	s.stats.longPollsPending.Add(1)
	defer s.stats.longPollsPending.Add(-1)

	hold := time.NewTimer(s.opts.LongPollHold)
	defer hold.Stop()
	select {
	case <-p.ready:
		p.mu.Lock()
		msgs, isReplay := p.msgs, p.isReplay
		p.mu.Unlock()
		s.answerMessages(w, r, sub, msgs, isReplay)
	case <-hold.C:
		last := sub.mid
		if last == "" {
			last = s.hub.newestMID(sub.keys, s.now())
		}
		h := w.Header()
		// net/http deletes Content-Type from every 304 (RFC 7232 §4.1); Push server 2.0 sends it, so
		// it is set under a key net/http does not canonicalise and therefore leaves alone.
		h["content-type"] = []string{"text/plain"}
		setCORS(h)
		h.Set("Access-Control-Expose-Headers", "Last-Message-Id")
		h.Set("Last-Message-Id", last)
		h.Set("Expires", lpExpires)
		w.WriteHeader(http.StatusNotModified)
	case c := <-p.ctl:
		s.answerControl(w, r, sub, c)
	case <-r.Context().Done():
	case <-s.ctx.Done():
	}
}

// answerMessages writes a 200 with msgs framed for the subscription (duplicated when asked).
func (s *Server) answerMessages(w http.ResponseWriter, r *http.Request, sub *subscription, msgs []*message, replay bool) {
	if d := s.frameDelay(); d > 0 && !s.sleep(r.Context(), d) {
		return
	}
	f := s.framer()
	now := s.now()
	body := f.frame(sub.mode, msgs, replay, now)
	s.countDelivered(len(msgs), replay)
	if n := s.takeDuplicates(len(msgs)); n > 0 {
		body = append(body, f.frame(sub.mode, msgs[:n], replay, now)...)
		s.stats.duplicated.Add(int64(n))
		s.countDelivered(n, false)
	}
	s.stats.frames.Add(1)
	writeLPBody(w, sub.mode, body)
}

func writeLPBody(w http.ResponseWriter, mode wireMode, body []byte) {
	h := w.Header()
	setCORS(h)
	h.Set("Content-Type", mode.contentType())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// answerControl ends a held poll the way a fault asks.
func (s *Server) answerControl(w http.ResponseWriter, r *http.Request, sub *subscription, c lpControl) {
	switch c.kind {
	case "close":
		writePushError(w, &pushError{code: c.code, reason: c.reason})
	case "garbage":
		writeLPBody(w, sub.mode, garbageFrame(sub.mode))
	case "oversized":
		writeLPBody(w, sub.mode, s.oversizedFrame(sub.mode, c.size))
	default:
		dropRequest(w)
	}
}

// dropRequest closes the request's TCP connection without an answer.
func dropRequest(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
}
