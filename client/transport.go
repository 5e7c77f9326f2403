package client

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/session"
	"github.com/coder/websocket"
)

const (
	// dialTimeout bounds one websocket handshake.
	dialTimeout = 15 * time.Second
	// closeTimeout bounds waiting for the peer's answer to our close frame.
	closeTimeout = 3 * time.Second
	// writeTimeout bounds one frame write (a browser write never blocks; a native one may).
	writeTimeout = 5 * time.Second
	// longPollTimeout is how long a long-polling GET may stay pending before it is re-issued (the
	// server answers 304 after 40 s).
	longPollTimeout = 60 * time.Second
)

// conn is one connection generation: a websocket or a long-polling loop.
type conn struct {
	l      *loop
	gen    int
	trans  protocol.Transport
	url    string
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	ws *websocket.Conn
}

func (l *loop) open(a session.Connect) *conn {
	ctx, cancel := context.WithCancel(l.ctx)
	cn := &conn{l: l, gen: a.Gen, trans: a.Transport, url: a.URL, ctx: ctx, cancel: cancel}
	if a.Transport == protocol.TransportWebSocket {
		l.spawn(func() { l.readWebSocket(cn) })
	} else {
		l.spawn(func() { l.longPoll(cn, a.URL) })
	}
	return cn
}

// closeConn ends the current connection with code; its goroutines stop reporting.
func (l *loop) closeConn(code int, reason string) {
	cn := l.conn
	if cn == nil {
		return
	}
	l.conn = nil
	cn.mu.Lock()
	ws := cn.ws
	cn.ws = nil
	cn.mu.Unlock()
	if ws == nil {
		cn.cancel()
		return
	}
	l.spawn(func() {
		defer cn.cancel()
		// Browsers accept only 1000 and 3000–4999 as close codes we send.
		if code != 1000 && (code < 3000 || code > 4999) {
			code = 1000
		}
		// The browser build waits for the close event without a bound; a peer that never answers
		// must not hold Stop, so the wait is cut at closeTimeout (the browser still ends it).
		done := make(chan struct{})
		l.c.owned.Add(1)
		go func() {
			defer l.c.owned.Add(-1)
			defer close(done)
			_ = ws.Close(websocket.StatusCode(code), reason)
		}()
		select {
		case <-done:
		case <-time.After(closeTimeout):
		}
	})
}

// readWebSocket dials and reads until the connection ends.
//
// Close codes: natively coder/websocket reports the peer's close code (websocket.CloseStatus). Its
// browser build (v1.8.15) keeps the code in an unexported field and Read returns only net.ErrClosed,
// and a handshake the server refuses (how Push server 2.0 rejects a stale channel id: HTTP 400) is
// never a close code in any browser. So the client does not depend on the code: the session treats
// repeated handshake failures and connections that close right after opening as a sign of stale
// channels and reloads the config, and any other close as a drop with backoff. Where the code is
// visible (native runs, long polling's "4010: …" body) it is used as well.
//
// The dial runs on its own bounded context rather than the connection's: in the browser build a
// cancelled dial closes with code 1008, which browsers refuse, leaving the socket to open later
// unowned. A dial that outlives its connection is closed cleanly as soon as it opens.
func (l *loop) readWebSocket(cn *conn) {
	dctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	ws, _, err := websocket.Dial(dctx, cn.url, nil)
	cancel()
	if err != nil {
		l.post(cn.ctx, event{kind: evClosed, gen: cn.gen, code: 1006})
		return
	}
	ws.SetReadLimit(l.c.opts.ReadLimit)
	cn.mu.Lock()
	if cn.ctx.Err() != nil {
		cn.mu.Unlock()
		_ = ws.Close(websocket.StatusNormalClosure, "")
		return
	}
	cn.ws = ws
	cn.mu.Unlock()
	l.post(cn.ctx, event{kind: evOpened, gen: cn.gen})
	for {
		typ, data, err := ws.Read(cn.ctx)
		if err != nil {
			code := int(websocket.CloseStatus(err))
			if code <= 0 {
				code = 1006
			}
			l.post(cn.ctx, event{kind: evClosed, gen: cn.gen, code: code})
			cn.mu.Lock()
			cn.ws = nil
			cn.mu.Unlock()
			if !errors.Is(err, context.Canceled) {
				_ = ws.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
		l.post(cn.ctx, event{kind: evFrame, gen: cn.gen, data: data, binary: typ == websocket.MessageBinary})
	}
}

// send writes one frame; a failed write is left to the read side, which sees the connection end.
func (cn *conn) send(data []byte, binary bool) {
	cn.mu.Lock()
	ws := cn.ws
	cn.mu.Unlock()
	if ws == nil {
		return
	}
	typ := websocket.MessageText
	if binary {
		typ = websocket.MessageBinary
	}
	ctx := cn.ctx
	if runtime.GOOS != "js" {
		// The browser build's Write never blocks and ignores its context; a timer per frame (every
		// JSON-RPC acknowledgement) would only cost. Natively a write can block: bound it.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(cn.ctx, writeTimeout)
		defer cancel()
	}
	_ = ws.Write(ctx, typ, data)
}

// longPoll issues one long-polling GET and reports its answer.
func (l *loop) longPoll(cn *conn, url string) {
	if l.c.opts.LongPoller == nil {
		l.post(cn.ctx, event{kind: evClosed, gen: cn.gen, code: 1006})
		return
	}
	ctx, cancel := context.WithTimeout(cn.ctx, longPollTimeout)
	defer cancel()
	ans, err := l.c.opts.LongPoller.Get(ctx, url, l.c.opts.ReadLimit)
	switch {
	case err == nil:
		l.post(cn.ctx, event{kind: evPoll, gen: cn.gen, status: ans.Status, data: ans.Body,
			expires: ans.Expires, lastID: ans.LastMessageID})
	case cn.ctx.Err() == nil && ctx.Err() != nil:
		// the request outlived longPollTimeout: ask again, as the reference clients do
		l.post(cn.ctx, event{kind: evPoll, gen: cn.gen, status: 0})
	default:
		l.post(cn.ctx, event{kind: evClosed, gen: cn.gen, code: 1006})
	}
}
