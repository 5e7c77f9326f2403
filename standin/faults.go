package standin

import (
	"bytes"
	"net/http"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// DropConnections ends every websocket abruptly (TCP close without a close frame: the client sees
// 1006) and drops every held long poll without an answer.
func (s *Server) DropConnections() {
	s.logf("standin: dropping connections")
	s.dropAll()
}

// CloseConnections sends every websocket a close frame with code and reason, and answers every held
// long poll with the code's HTTP status and "<code>: <reason>". Codes below 1000 become 1000 on a
// websocket, as Push server 2.0 does; codes that cannot travel in a close frame (1005, 1006, 1015)
// drop the connection instead.
func (s *Server) CloseConnections(code int, reason string) {
	wsCode := code
	if wsCode < 1000 {
		wsCode = 1000
	}
	if len(reason) > 123 {
		reason = reason[:123]
	}
	conns, polls := s.snapshot()
	for _, c := range conns {
		switch {
		case wsCode == 1005 || wsCode == 1006 || wsCode == 1015 || wsCode > 4999:
			_ = c.conn.CloseNow()
		default:
			c.closeWith(wsCode, reason)
		}
	}
	for _, p := range polls {
		p.control(lpControl{kind: "close", code: code, reason: reason})
	}
}

// Restart takes the push server down: its listener closes and every connection drops, as when the
// process dies. After down it listens again on the same port. Stored messages survive (they live in
// the store, Push server 2.0's Redis), and so does the message counter. Restart returns once the
// server is down; a Restart while down is ignored.
func (s *Server) Restart(down time.Duration) {
	s.pushMu.Lock()
	if s.closed || s.pushDown {
		s.pushMu.Unlock()
		return
	}
	s.pushDown = true
	srv := s.pushSrv
	s.pushSrv = nil
	s.wg.Add(1)
	s.pushMu.Unlock()

	s.stats.restarts.Add(1)
	s.logf("standin: push server down for %s", down)
	_ = srv.Close()
	s.dropAll()
	go func() {
		defer s.wg.Done()
		if !s.sleep(s.ctx, down) {
			return
		}
		for {
			if s.relisten() {
				return
			}
			if !s.sleep(s.ctx, 50*time.Millisecond) {
				return
			}
		}
	}()
}

// relisten opens the push listener again on its port; true when done (or closed meanwhile).
func (s *Server) relisten() bool {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	if s.closed {
		return true
	}
	ln, err := listenTCP(s.pushAddr)
	if err != nil {
		s.logf("standin: push server cannot listen again yet: %v", err)
		return false
	}
	s.servePushLocked(ln)
	s.logf("standin: push server up again")
	return true
}

// SendGarbage sends every websocket a frame no client can read (binary on protobuf connections, text
// otherwise) and answers every held long poll with such a body.
func (s *Server) SendGarbage() {
	conns, polls := s.snapshot()
	for _, c := range conns {
		c.push(outItem{kind: outRaw, raw: garbageFrame(c.sub.mode), binary: c.sub.mode == wireBinary})
	}
	for _, p := range polls {
		p.control(lpControl{kind: "garbage"})
	}
}

// SendOversized sends every websocket (and held long poll) one frame of n bytes: a valid message of
// module "standin", command "oversized" padded to n bytes when n can hold one, filler bytes otherwise.
// The message has a fresh id but is not stored.
func (s *Server) SendOversized(n int) {
	if n <= 0 {
		return
	}
	conns, polls := s.snapshot()
	for _, c := range conns {
		c.push(outItem{kind: outRaw, raw: s.oversizedFrame(c.sub.mode, n), binary: c.sub.mode == wireBinary})
	}
	for _, p := range polls {
		p.control(lpControl{kind: "oversized", size: n})
	}
}

// oversizedFrame builds SendOversized's frame for mode.
func (s *Server) oversizedFrame(mode wireMode, n int) []byte {
	seq, mid := s.hub.nextMID()
	now := s.now()
	m := &message{seq: seq, mid: mid, created: now, sender: protocol.PBSender{Type: protocol.SenderBackend}}
	if f := s.framer().paddedFrame(mode, m, n, now); f != nil {
		return f
	}
	return bytes.Repeat([]byte{'x'}, n)
}

// DuplicateNext makes the next n deliveries go out twice: each is sent again, in a frame of its own
// on a websocket, appended to the body on a long poll. n ≤ 0 cancels what is left.
func (s *Server) DuplicateNext(n int) {
	s.dupRemaining.Store(int64(max(n, 0)))
}

// DelayFrames delays every frame by d after its content was queued (latency: frames queued together
// still go out together), and every long-polling answer by d; 0 switches the delay off.
func (s *Server) DelayFrames(d time.Duration) {
	s.delay.Store(int64(max(d, 0)))
}

// FailREST makes the next `times` REST calls answer the Bitrix error code with its real HTTP status and
// description (unknown codes: 400 with the code as description). times ≤ 0 cancels.
func (s *Server) FailREST(code string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.portal.failCode = code
	s.portal.failTimes = max(times, 0)
}

// FailRESTWithPage makes the next `times` REST calls answer HTTP status with an HTML error page
// instead of JSON, as a reverse proxy in front of the portal does when the portal is down or slow
// (nginx's "502 Bad Gateway"); a client that reads every answer as JSON fails on it. Failures set
// by FailREST are used up first, so that FailREST(code, 1) and FailRESTWithPage(502, 1) answer the
// coded error, then the page. times ≤ 0 cancels; a status outside 400–599 means 502.
func (s *Server) FailRESTWithPage(status, times int) {
	if status < 400 || status > 599 {
		status = http.StatusBadGateway
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.portal.pageStatus = status
	s.portal.pageTimes = max(times, 0)
}

// SetPushConfigured switches the portal's push server setting: false makes every pull.* method answer
// 500 SERVER_ERROR "Push & Pull server is not configured".
func (s *Server) SetPushConfigured(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.portal.pushConfigured = ok
}

// Reject4010 chooses how bad channel ids (and tokens) are refused: false (default) answers the
// websocket handshake with HTTP 400 "Wrong Channel Id." as the real server does; true accepts the
// websocket and closes it at once with 4010 "Wrong Channel Id.".
func (s *Server) Reject4010(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.portal.reject4010 = on
}
