package client

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/session"
)

// The outbox is the loop's side of client publishing and of JSON-RPC calls (docs/protocol.md §17,
// §6.4, §18). What the app asks to send waits in a queue until a connection is open, within a bound;
// it is written once, on one connection, and never again unless the server cannot have acted on it.
// A call waits for its answer, matched by id, within a bound of its own. Every wait ends with an
// answer to the caller: sent, answered, refused, timed out, or the client stopped.

// outgoing is one publish frame or JSON-RPC call to send on the connection.
type outgoing struct {
	// wire is what the frame was made for: WireProtobuf (frame holds a RequestBatch) or WireJSONRPC
	// (method and params make the request, sent with an id the loop picks).
	wire  protocol.Wire
	frame []byte
	// ack, with a protobuf frame, is the channelStats request sent after it: its answer tells that
	// the frame reached the server (the push server answers nothing else a client sends).
	ack    []byte
	cached map[string]int // receivers whose public ids came from the cache (publicids.go)
	method string
	params json.RawMessage
	// retry lets a call whose connection closed before the answer go out again on the next one: only
	// for calls that change nothing when carried out twice (ping, listChannels, getUsersLastSeen,
	// status subscriptions). A publish never goes out twice.
	retry bool
	// until is the last moment the item may wait for a connection; answerIn how long a call may wait
	// for its answer once sent.
	until    time.Time
	answerIn time.Duration
	// watch is the user whose status subscription an answered subscribeStatusChange starts.
	watch int
	// longPolling tells that the item found only a long-polling connection.
	longPolling bool
	// reply receives the outcome once (buffered); nil for the loop's own calls.
	reply chan reply

	id       int64
	gen      int
	answerBy time.Time
}

// reply is the outcome of an outgoing item: the JSON-RPC result (nil for a protobuf publish), or err.
type reply struct {
	result json.RawMessage
	err    error
}

// outbox is the loop's state for outgoing items.
type outbox struct {
	queue   []*outgoing
	pending map[int64]*outgoing // sent calls awaiting their answer, by id
	acks    []*outgoing         // sent protobuf publishes awaiting their channelStats answer, in order
	nextID  int64
	linkGen int // the connection the items were last sent on
	cfgWait []chan *protocol.Config
}

func (o *outgoing) settle(result json.RawMessage, err error) {
	if o.reply != nil {
		o.reply <- reply{result: result, err: err}
		o.reply = nil
	}
}

// enqueue takes an item from the app.
func (l *loop) enqueue(o *outgoing) {
	l.out.queue = append(l.out.queue, o)
}

// pump sends what waits when a connection is open, settles what the connection's end or a deadline
// decided, and answers the config waiters. It runs after every step of the loop.
func (l *loop) pump(now time.Time) {
	ob := &l.out
	if cfg := l.c.m.Config(); cfg != nil && len(ob.cfgWait) > 0 {
		for _, ch := range ob.cfgWait {
			ch <- cfg
		}
		ob.cfgWait = nil
	}
	link, ok := l.c.m.Link()
	if ok && (l.conn == nil || l.conn.gen != link.Gen) {
		ok = false
	}
	if len(ob.acks) > 0 && (!ok || ob.acks[0].gen != link.Gen) {
		for _, p := range ob.acks {
			p.settle(nil, codeError(CodeConnectionLost, "the connection closed before the server acknowledged the message: "+
				"it may or may not have been delivered (a push server closes the connection on a message it refuses)"))
		}
		ob.acks = nil
	}
	for id, p := range ob.pending {
		if ok && p.gen == link.Gen {
			continue
		}
		delete(ob.pending, id)
		if p.retry && now.Before(p.until) {
			ob.queue = append([]*outgoing{p}, ob.queue...)
			continue
		}
		p.settle(nil, codeError(CodeConnectionLost, "the connection closed before the server answered "+p.what()))
	}
	if ok && link.Gen != ob.linkGen {
		ob.linkGen = link.Gen
		if watched := l.c.watchedUsers(); link.Wire == protocol.WireJSONRPC && len(watched) > 0 {
			// Status subscriptions belong to a connection: every new one is told them again, first.
			own := make([]*outgoing, 0, len(watched)+len(ob.queue))
			for _, user := range watched {
				own = append(own, &outgoing{
					wire: protocol.WireJSONRPC, method: "subscribeStatusChange", params: userIDParams(user),
					until: now.Add(defaultCallTimeout), answerIn: defaultCallTimeout, watch: user,
				})
			}
			ob.queue = append(own, ob.queue...)
		}
	}
	if ok {
		queue := ob.queue
		ob.queue = nil
		for _, o := range queue {
			l.sendOut(o, link, now)
		}
	}
	kept := ob.queue[:0]
	for _, o := range ob.queue {
		if now.Before(o.until) {
			kept = append(kept, o)
			continue
		}
		if o.longPolling {
			o.settle(nil, codeError(CodePublishingUnavailable, "the client fell back to long polling, which cannot carry "+o.what()+
				", and no websocket opened in time"))
			continue
		}
		o.settle(nil, codeError(CodeNotConnected, "no connection opened in time to send "+o.what()))
	}
	clear(ob.queue[len(kept):])
	ob.queue = kept
	for id, p := range ob.pending {
		if now.Before(p.answerBy) {
			continue
		}
		delete(ob.pending, id)
		p.settle(nil, codeError(CodeTimeout, "the server did not answer "+p.what()+" in time"))
	}
	for len(ob.acks) > 0 && !now.Before(ob.acks[0].answerBy) {
		ob.acks[0].settle(nil, codeError(CodeTimeout, "the server did not acknowledge the message in time: it may or may not have been delivered"))
		ob.acks[0] = nil
		ob.acks = ob.acks[1:]
	}
}

// sendOut writes one item on the open connection, or refuses it when that connection cannot carry it.
func (l *loop) sendOut(o *outgoing, link session.Link, now time.Time) {
	switch {
	case o.wire != link.Wire:
		o.settle(nil, codeError(CodePublishingUnavailable, "the connection now speaks "+link.Wire.String()+
			", not the "+o.wire.String()+" the message was made for"))
		return
	case link.Transport != protocol.TransportWebSocket:
		// Long polling cannot carry it. The machine falls back to it after websocket failures and
		// goes back to websocket when it can: the item waits for that within its bound.
		o.longPolling = true
		l.out.queue = append(l.out.queue, o)
		return
	}
	ob := &l.out
	if o.wire != protocol.WireJSONRPC {
		l.conn.send(o.frame, true)
		if o.ack == nil {
			o.settle(nil, nil)
			return
		}
		l.conn.send(o.ack, true)
		o.gen, o.answerBy = link.Gen, now.Add(o.answerIn)
		ob.acks = append(ob.acks, o)
		return
	}
	ob.nextID++
	o.id, o.gen, o.answerBy = ob.nextID, link.Gen, now.Add(o.answerIn)
	if ob.pending == nil {
		ob.pending = make(map[int64]*outgoing)
	}
	ob.pending[o.id] = o
	l.conn.send(protocol.EncodeRPCRequest(o.id, o.method, o.params), false)
}

// answer settles the calls a frame answered.
func (l *loop) answer(a session.Answers) {
	ob := &l.out
	for _, stats := range a.Stats {
		if len(ob.acks) == 0 || ob.acks[0].gen != a.Gen {
			break
		}
		p := ob.acks[0]
		ob.acks[0] = nil
		ob.acks = ob.acks[1:]
		l.c.forgetIdle(stats, p.cached)
		p.settle(nil, nil)
	}
	for _, r := range a.Responses {
		p := ob.pending[r.ID]
		if p == nil {
			l.c.logf("an answer to call %d, which is not waiting (timed out or never made), ignored", r.ID)
			continue
		}
		delete(ob.pending, r.ID)
		if r.Err != nil {
			p.settle(nil, &Error{Code: CodeRPCError, Description: p.method + ": " + r.Err.Message, Err: r.Err})
			continue
		}
		if p.watch > 0 {
			l.c.setWatched(p.watch, true)
		}
		p.settle(bytes.Clone(r.Result), nil)
	}
}

// nextOutDeadline is the earliest moment pump has something to settle; ok is false when nothing waits.
func (l *loop) nextOutDeadline() (d time.Time, ok bool) {
	for _, o := range l.out.queue {
		if !ok || o.until.Before(d) {
			d, ok = o.until, true
		}
	}
	for _, p := range l.out.pending {
		if !ok || p.answerBy.Before(d) {
			d, ok = p.answerBy, true
		}
	}
	if len(l.out.acks) > 0 && (!ok || l.out.acks[0].answerBy.Before(d)) {
		d, ok = l.out.acks[0].answerBy, true
	}
	return d, ok
}

// closeOut settles everything still waiting when the loop ends.
func (l *loop) closeOut() {
	ob := &l.out
	for _, o := range ob.queue {
		o.settle(nil, codeError(CodeNotConnected, "the client stopped before it could send "+o.what()))
	}
	for _, p := range ob.pending {
		p.settle(nil, codeError(CodeConnectionLost, "the client stopped before the server answered "+p.what()))
	}
	for _, p := range ob.acks {
		p.settle(nil, codeError(CodeConnectionLost, "the client stopped before the server acknowledged the message"))
	}
	ob.acks = nil
	for _, ch := range ob.cfgWait {
		ch <- nil
	}
	ob.queue, ob.pending, ob.cfgWait = nil, nil, nil
}

// what names an item in errors.
func (o *outgoing) what() string {
	if o.wire == protocol.WireJSONRPC {
		return o.method
	}
	return "the message"
}

func userIDParams(user int) json.RawMessage {
	b, _ := json.Marshal(struct {
		UserID int `json:"userId"`
	}{user})
	return b
}
