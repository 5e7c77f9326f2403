package standin

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/coder/websocket"
)

// maxQueued bounds what waits for one connection; a client that falls this far behind is dropped.
const maxQueued = 10000

// outKind is the kind of one queued frame.
type outKind int

const (
	// outLive is one live message; live messages may be coalesced.
	outLive outKind = iota
	// outReplay is the replay sent first on connect: one frame.
	outReplay
	// outRaw is a prepared frame (RPC answers, pings, faults), written as is.
	outRaw
)

type outItem struct {
	kind   outKind
	msgs   []*message
	raw    []byte
	binary bool
	at     time.Time // when it was queued: an injected delay counts from here
}

// wsConn is one websocket subscription.
type wsConn struct {
	s      *Server
	conn   *websocket.Conn
	sub    *subscription
	ctx    context.Context
	cancel context.CancelFunc

	// watching is the users whose status the connection watches; guarded by Server.connMu.
	watching map[int]struct{}

	mu       sync.Mutex
	queue    []outItem
	closing  bool // a close frame is on its way: write nothing more
	overflow bool
	wake     chan struct{}
}

func (c *wsConn) replay(msgs []*message) { c.push(outItem{kind: outReplay, msgs: msgs}) }
func (c *wsConn) deliver(m *message)     { c.push(outItem{kind: outLive, msgs: []*message{m}}) }

// push queues a frame without blocking.
func (c *wsConn) push(it outItem) {
	c.mu.Lock()
	if c.closing || c.overflow {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= maxQueued {
		c.overflow = true
		c.mu.Unlock()
		c.cancel()
		return
	}
	it.at = c.s.now()
	c.queue = append(c.queue, it)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take removes and returns one queued item (all of them when all is set).
func (c *wsConn) take(all bool) []outItem {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || len(c.queue) == 0 {
		return nil
	}
	n := 1
	if all {
		n = len(c.queue)
	}
	items := append([]outItem(nil), c.queue[:n]...)
	clear(c.queue[:n])
	c.queue = c.queue[n:]
	return items
}

// serveWebSocket runs one websocket subscription until either side ends it.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, sub *subscription, perr *pushError) {
	if !s.enter() {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	defer s.leave()
	gen := s.generation()
	if perr != nil && !s.reject4010() {
		s.stats.handshakesRefused.Add(1)
		s.logf("standin: websocket handshake refused (%d)", perr.code)
		setCORS(w.Header())
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		if !perr.bare {
			_, _ = w.Write([]byte(perr.reason))
		}
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	if perr != nil {
		s.stats.handshakesRefused.Add(1)
		s.logf("standin: websocket closed at once (%d)", perr.code)
		// The close handshake waits for the client; Close of the stand-in cuts that wait short.
		stop := context.AfterFunc(s.ctx, func() { _ = conn.CloseNow() })
		_ = conn.Close(websocket.StatusCode(perr.code), perr.reason)
		stop()
		return
	}
	conn.SetReadLimit(maxPayload)
	ctx, cancel := context.WithCancel(s.ctx)
	c := &wsConn{s: s, conn: conn, sub: sub, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
	defer cancel()
	if !s.addConn(c, gen) {
		_ = conn.CloseNow()
		return
	}
	n := s.hub.subscribe(c, sub.keys, sub.mid, s.now())
	s.logf("standin: websocket open (%s, %d replayed)", sub.mode, n)
	// Counted once subscribed, so a test that sees the count can publish and be sure of delivery.
	s.stats.connectionsTotal.Add(1)
	s.stats.connectionsOpen.Add(1)
	defer s.stats.connectionsOpen.Add(-1)
	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); c.writeLoop() }()
	go func() { defer loops.Done(); c.pingLoop() }()
	c.readLoop()
	cancel()
	s.hub.unsubscribe(c, sub.keys)
	loops.Wait()
	_ = conn.CloseNow()
	s.removeConn(c)
}

// writeLoop writes queued frames: the first one at once, then, when a coalescing window is set,
// everything that arrives within the window as one frame, until a window passes empty.
func (c *wsConn) writeLoop() {
	window := c.s.opts.Coalesce
	for {
		items := c.take(false)
		if len(items) == 0 {
			select {
			case <-c.wake:
				continue
			case <-c.ctx.Done():
				c.drain()
				return
			}
		}
		if !c.writeItems(items) {
			return
		}
		if window <= 0 || items[0].kind == outRaw {
			continue
		}
		for {
			if !c.s.sleep(c.ctx, window) {
				c.drain()
				return
			}
			items = c.take(true)
			if len(items) == 0 {
				break
			}
			if !c.writeItems(items) {
				return
			}
		}
	}
}

// drain handles a connection ended by overflow: it is dropped.
func (c *wsConn) drain() {
	c.mu.Lock()
	overflow := c.overflow
	c.mu.Unlock()
	if overflow {
		c.s.logf("standin: slow client dropped")
		_ = c.conn.CloseNow()
	}
}

// writeItems writes items in order: consecutive live messages as one frame, everything else alone.
func (c *wsConn) writeItems(items []outItem) bool {
	for i := 0; i < len(items); {
		it := items[i]
		switch it.kind {
		case outRaw:
			typ := websocket.MessageText
			if it.binary {
				typ = websocket.MessageBinary
			}
			if !c.write(typ, it.raw, nil, false, it.at) {
				return false
			}
			i++
		case outReplay:
			if !c.writeMessages(it.msgs, true, it.at) {
				return false
			}
			i++
		default:
			j := i
			var msgs []*message
			for j < len(items) && items[j].kind == outLive {
				msgs = append(msgs, items[j].msgs...)
				j++
			}
			if !c.writeMessages(msgs, false, it.at) {
				return false
			}
			i = j
		}
	}
	return true
}

// writeMessages frames msgs, writes them and, when DuplicateNext asks for it, writes the first of
// them again in a second frame.
func (c *wsConn) writeMessages(msgs []*message, replay bool, at time.Time) bool {
	typ := websocket.MessageText
	if c.sub.mode == wireBinary {
		typ = websocket.MessageBinary
	}
	f := c.s.framer()
	if !c.write(typ, nil, func(now time.Time) []byte { return f.frame(c.sub.mode, msgs, replay, now) }, true, at) {
		return false
	}
	c.s.countDelivered(len(msgs), replay)
	if n := c.s.takeDuplicates(len(msgs)); n > 0 {
		dup := msgs[:n]
		if !c.write(typ, nil, func(now time.Time) []byte { return f.frame(c.sub.mode, dup, replay, now) }, true, at) {
			return false
		}
		c.s.stats.duplicated.Add(int64(n))
		c.s.countDelivered(n, false)
	}
	return true
}

// write sends one frame once the injected delay has passed since at (when its content was queued):
// the delay is latency, as a slow network adds, not a pause per frame that would cap throughput and
// build an ever-growing backlog. build, when set, makes the frame at send time.
func (c *wsConn) write(typ websocket.MessageType, data []byte, build func(time.Time) []byte, counted bool, at time.Time) bool {
	if d := c.s.frameDelay(); d > 0 {
		if wait := at.Add(d).Sub(c.s.now()); wait > 0 && !c.s.sleep(c.ctx, wait) {
			return false
		}
	}
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		return false
	}
	if build != nil {
		data = build(c.s.now())
	}
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, typ, data); err != nil {
		c.cancel()
		_ = c.conn.CloseNow()
		return false
	}
	if counted {
		c.s.stats.frames.Add(1)
	}
	return true
}

// pingLoop keeps the connection alive: text ping frames in JSON-RPC mode, websocket control pings
// otherwise (a ping left unanswered for a whole period drops the connection, as Push server 2.0 does).
func (c *wsConn) pingLoop() {
	if c.sub.mode == wireRPC {
		for c.s.sleep(c.ctx, c.s.rpcPingEvery) {
			c.push(outItem{kind: outRaw, raw: []byte(protocol.PingFrame)})
			c.s.stats.pings.Add(1)
		}
		return
	}
	for c.s.sleep(c.ctx, c.s.wsPingEvery) {
		ctx, cancel := context.WithTimeout(c.ctx, c.s.wsPingEvery)
		err := c.conn.Ping(ctx)
		cancel()
		if err != nil {
			if c.ctx.Err() == nil {
				c.s.logf("standin: ping unanswered, connection dropped")
				_ = c.conn.CloseNow()
			}
			return
		}
		c.s.stats.pings.Add(1)
	}
}

// readLoop reads what the client sends until the connection ends.
func (c *wsConn) readLoop() {
	for {
		typ, data, err := c.conn.Read(c.ctx)
		if err != nil {
			return
		}
		switch {
		case c.sub.mode == wireRPC && typ == websocket.MessageText:
			c.s.handleRPCFrame(c, data)
		case c.s.opts.Version == 4 && typ == websocket.MessageBinary:
			resp, perr := c.s.clientRequest(c.sub, data)
			if perr != nil {
				c.closeWith(perr.code, perr.reason)
				continue
			}
			if len(resp) > 0 {
				c.push(outItem{kind: outRaw, raw: resp, binary: true})
			}
		default:
			// Text frames on versions 3–4 and binary frames elsewhere are ignored, as the servers do.
		}
	}
}

// closeWith sends a close frame with code and reason; the connection ends when the client answers or
// after the library's timeout.
func (c *wsConn) closeWith(code int, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.queue = nil
	c.mu.Unlock()
	if !c.s.enter() {
		_ = c.conn.CloseNow()
		return
	}
	go func() {
		defer c.s.leave()
		stop := context.AfterFunc(c.s.ctx, func() { _ = c.conn.CloseNow() })
		defer stop()
		_ = c.conn.Close(websocket.StatusCode(code), reason)
	}()
}
