package session

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// Event types as JavaScript subscribers name them (docs/protocol.md §10.2).
const (
	TypeServer   = "server"
	TypeClient   = "client"
	TypeOnline   = "online"
	TypeStatus   = "status"
	TypeRevision = "revision"
	// TypeRetry events tell that a config load failed and is tried again: {code, description, retryIn}.
	TypeRetry = "retry"
)

// onlineMaxAge is how old an "online" event may be before it is dropped (docs/protocol.md §10.1).
const onlineMaxAge = 240.0

// events accumulates the JSON array handed to JavaScript for one input: one array per frame.
type events struct {
	buf []byte
	n   int
}

func (e *events) begin() {
	if e.n == 0 {
		e.buf = append(e.buf[:0], '[')
	} else {
		e.buf = append(e.buf, ',')
	}
	e.n++
}

// take returns the finished array and empties the accumulator; nil when nothing was added.
func (e *events) take() []byte {
	if e.n == 0 {
		return nil
	}
	out := make([]byte, len(e.buf)+1)
	copy(out, e.buf)
	out[len(out)-1] = ']'
	e.n = 0
	e.buf = e.buf[:0]
	return out
}

func (e *events) message(typ, moduleID, command string, params, extra []byte) {
	e.begin()
	e.buf = append(e.buf, `{"type":"`...)
	e.buf = append(e.buf, typ...)
	e.buf = append(e.buf, `","moduleId":`...)
	e.buf = protocol.AppendJSONString(e.buf, moduleID)
	e.buf = append(e.buf, `,"command":`...)
	e.buf = protocol.AppendJSONString(e.buf, command)
	e.buf = append(e.buf, `,"params":`...)
	e.buf = append(e.buf, params...)
	e.buf = append(e.buf, `,"extra":`...)
	e.buf = append(e.buf, extra...)
	e.buf = append(e.buf, '}')
}

func (e *events) status(s Status) {
	e.begin()
	e.buf = append(e.buf, `{"type":"status","status":"`...)
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, `"}`...)
}

// retry tells that a config load failed and will be tried again in d.
func (e *events) retry(code, description string, d time.Duration) {
	e.begin()
	e.buf = append(e.buf, `{"type":"retry","code":`...)
	e.buf = protocol.AppendJSONString(e.buf, code)
	e.buf = append(e.buf, `,"description":`...)
	e.buf = protocol.AppendJSONString(e.buf, description)
	e.buf = append(e.buf, `,"retryIn":`...)
	e.buf = strconv.AppendFloat(e.buf, d.Seconds(), 'f', 3, 64)
	e.buf = append(e.buf, '}')
}

func (e *events) revision(server int64) {
	e.begin()
	e.buf = append(e.buf, `{"type":"revision","server":`...)
	e.buf = strconv.AppendInt(e.buf, server, 10)
	e.buf = append(e.buf, `,"client":`...)
	e.buf = strconv.AppendInt(e.buf, protocol.Revision, 10)
	e.buf = append(e.buf, '}')
}

// route decides the subscription type of a message (docs/protocol.md §10.1): a message published by a
// client goes to client subscribers whatever its module (so a client can never trigger a system
// command), module "pull" is a system command, module "online" goes to online subscribers.
func route(moduleID string, sender *protocol.Sender) string {
	switch {
	case sender != nil && sender.Type == protocol.SenderClient:
		return TypeClient
	case moduleID == "pull":
		return "system"
	case moduleID == "online":
		return TypeOnline
	default:
		return TypeServer
	}
}

// serverTimeAgo computes extra.server_time_ago (seconds, at least 0) from the message's server time
// stu (protocol.Extra.ServerTimeUnix, 0 when it carries none), the local clock and the config's time
// shift. ok is false when stu is 0.
func serverTimeAgo(stu float64, now time.Time, shift time.Duration) (float64, bool) {
	if stu <= 0 {
		return 0, false
	}
	nowSec := float64(now.UnixMilli()) / 1000
	ago := nowSec - stu - shift.Seconds()
	if ago < 0 {
		ago = 0
	}
	return math.Round(ago*1000) / 1000, true
}

// augmentExtra adds the client-side fields of extra: sender (protobuf and JSON-RPC deliveries) and
// server_time_ago. The common case appends to the object text without parsing it; when extra already
// carries one of those keys it falls back to a real merge so that no key appears twice.
func augmentExtra(extra []byte, sender *protocol.Sender, ago float64, hasAgo bool) []byte {
	if sender == nil && !hasAgo {
		return extra
	}
	var add []byte
	add = append(add, '{')
	if sender != nil {
		add = append(add, `"sender":{"type":`...)
		add = strconv.AppendInt(add, int64(sender.Type), 10)
		if sender.ID != "" {
			add = append(add, `,"id":`...)
			add = protocol.AppendJSONString(add, sender.ID)
		}
		add = append(add, '}')
	}
	if hasAgo {
		if sender != nil {
			add = append(add, ',')
		}
		add = append(add, `"server_time_ago":`...)
		add = strconv.AppendFloat(add, ago, 'f', -1, 64)
	}
	add = append(add, '}')
	if bytes.Contains(extra, []byte(`"sender"`)) || bytes.Contains(extra, []byte(`"server_time_ago"`)) {
		return protocol.MergeObjects(extra, add)
	}
	trimmed := bytes.TrimRight(extra, " \t\r\n")
	if len(trimmed) < 2 || trimmed[len(trimmed)-1] != '}' {
		return add
	}
	body := bytes.TrimSpace(trimmed[1 : len(trimmed)-1])
	out := make([]byte, 0, len(trimmed)+len(add))
	out = append(out, trimmed[:len(trimmed)-1]...)
	if len(body) > 0 {
		out = append(out, ',')
	}
	out = append(out, add[1:]...)
	return out
}

// lowerASCII lower-cases a module id without allocating when it is already lower case.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
