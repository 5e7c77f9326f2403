package standin

import (
	"time"
)

// generation returns the current push server generation (it changes with every Restart).
func (s *Server) generation() int {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	return s.pushGen
}

// acceptingLocked reports whether a connection begun in generation gen may register. pushMu is held.
func (s *Server) acceptingLocked(gen int) bool {
	return !s.closed && !s.pushDown && s.pushGen == gen
}

// addConn registers an accepted websocket; false when the push server went down meanwhile.
func (s *Server) addConn(c *wsConn, gen int) bool {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	if !s.acceptingLocked(gen) {
		return false
	}
	s.connMu.Lock()
	s.conns[c] = struct{}{}
	s.userOnlineLocked(c.sub.user, 1)
	s.connMu.Unlock()
	return true
}

func (s *Server) removeConn(c *wsConn) {
	s.connMu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.unwatchAllLocked(c)
		s.userOnlineLocked(c.sub.user, -1)
	}
	s.connMu.Unlock()
}

// addPoll registers a held long poll; false when the push server went down meanwhile.
func (s *Server) addPoll(p *longPoll, gen int) bool {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	if !s.acceptingLocked(gen) {
		return false
	}
	s.connMu.Lock()
	s.polls[p] = struct{}{}
	s.userOnlineLocked(p.user, 1)
	s.connMu.Unlock()
	return true
}

func (s *Server) removePoll(p *longPoll) {
	s.connMu.Lock()
	if _, ok := s.polls[p]; ok {
		delete(s.polls, p)
		s.userOnlineLocked(p.user, -1)
	}
	s.connMu.Unlock()
}

// userOnlineLocked counts a user's connections; the last one to end sets the user's last-seen time.
// The first one to open and the last one to end tell the connections watching the user. connMu is
// held.
func (s *Server) userOnlineLocked(user, delta int) {
	if user <= 0 {
		return
	}
	now := s.now()
	was := s.online[user] > 0
	s.online[user] += delta
	if s.online[user] <= 0 {
		delete(s.online, user)
		s.lastSeen[user] = now
	}
	if is := s.online[user] > 0; is != was {
		s.statusChangedLocked(user, is, now)
	}
}

// snapshot returns the open websockets and held long polls.
func (s *Server) snapshot() ([]*wsConn, []*longPoll) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	polls := make([]*longPoll, 0, len(s.polls))
	for p := range s.polls {
		polls = append(polls, p)
	}
	return conns, polls
}

// dropAll closes every websocket without a close frame and drops every held long poll.
func (s *Server) dropAll() {
	conns, polls := s.snapshot()
	for _, c := range conns {
		c.cancel()
		_ = c.conn.CloseNow()
	}
	for _, p := range polls {
		p.control(lpControl{kind: "drop"})
	}
}

// framer returns the framing of this server.
func (s *Server) framer() framer { return framer{version: s.opts.Version} }

// frameDelay is the injected delay before every frame.
func (s *Server) frameDelay() time.Duration { return time.Duration(s.delay.Load()) }

// takeDuplicates takes up to n deliveries from the DuplicateNext budget.
func (s *Server) takeDuplicates(n int) int {
	for {
		left := s.dupRemaining.Load()
		if left <= 0 {
			return 0
		}
		take := min(int64(n), left)
		if s.dupRemaining.CompareAndSwap(left, left-take) {
			return int(take)
		}
	}
}

func (s *Server) countDelivered(n int, replay bool) {
	s.stats.delivered.Add(int64(n))
	if replay {
		s.stats.replayed.Add(int64(n))
	}
}

func (s *Server) reject4010() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.portal.reject4010
}
