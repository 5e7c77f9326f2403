//go:build js && wasm

package bridge

import (
	"encoding/json"
	"syscall/js"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/tidwall/gjson"
)

// The publishing and presence methods of a client (docs/protocol.md §17, §18). The module's wrapper
// (js/src/b24pull.mjs) checks and normalises the arguments and hands each call over as one JSON text,
// read here with gjson: one crossing, no walking of JS objects from Go, and no encoding/json decoder
// in the module (it would add some 180 kB).

// publishCall is what sendMessage and sendMessageToChannels hand over.
type publishCall struct {
	users    []int
	channels []string
	msg      protocol.ClientMessage
}

// callText returns the JSON text of a call, or the caller's error when it is none.
func callText(args []js.Value) (gjson.Result, error) {
	a := arg(args, 0)
	if a.Type() != js.TypeString || !gjson.Valid(a.String()) {
		return gjson.Result{}, &Error{Code: CodeInvalidArgument, Description: "the arguments could not be read"}
	}
	return gjson.Parse(a.String()), nil
}

// readPublish reads {users?, channels?, moduleId, command, params, expiry}. What the wrapper checked
// is checked again by the client; a value of the wrong type reads as empty and is refused there.
func readPublish(args []js.Value) (publishCall, error) {
	v, err := callText(args)
	if err != nil {
		return publishCall{}, err
	}
	var c publishCall
	c.users = intList(v.Get("users"))
	v.Get("channels").ForEach(func(_, ch gjson.Result) bool {
		c.channels = append(c.channels, ch.String())
		return true
	})
	c.msg = protocol.ClientMessage{ModuleID: v.Get("moduleId").String(), Command: v.Get("command").String(), Expiry: int(v.Get("expiry").Int())}
	if p := v.Get("params"); p.Exists() {
		c.msg.Params = json.RawMessage(p.Raw)
	}
	return c, nil
}

// intList reads a JSON array of integers; an entry that is not one reads as 0 (refused later).
func intList(v gjson.Result) []int {
	var out []int
	v.ForEach(func(_, n gjson.Result) bool {
		if n.Type == gjson.Number && n.Num == float64(int(n.Num)) {
			out = append(out, int(n.Num))
		} else {
			out = append(out, 0)
		}
		return true
	})
	return out
}

// sendMessage implements sendMessage(text) → Promise: the publish call's result (version 5), or
// undefined (version 4).
func (jc *jsClient) sendMessage(args []js.Value) any {
	return jc.publishWith(args, false)
}

// sendMessageToChannels implements sendMessageToChannels(text) → Promise, as sendMessage.
func (jc *jsClient) sendMessageToChannels(args []js.Value) any {
	return jc.publishWith(args, true)
}

func (jc *jsClient) publishWith(args []js.Value, toChannels bool) any {
	call, err := readPublish(args)
	if err != nil {
		return rejectedPromise(err)
	}
	// The place in line is taken now, while the app's call runs: the goroutines below do not start in
	// the order they were made, and publishes must keep the order of the calls.
	ctx := jc.c.InLine(jc.ctx)
	return newPromise(jc.reg, func() (any, error) {
		var res json.RawMessage
		var err error
		if toChannels {
			res, err = jc.c.SendMessageToChannels(ctx, call.channels, call.msg)
		} else {
			res, err = jc.c.SendMessage(ctx, call.users, call.msg)
		}
		if err != nil {
			return nil, jc.failure("publish", err)
		}
		if res == nil {
			return js.Undefined(), nil
		}
		return jsonValue(res), nil
	})
}

// getUsersLastSeen implements getUsersLastSeen(text of the id list) → Promise<{[id]: seconds}>.
func (jc *jsClient) getUsersLastSeen(args []js.Value) any {
	v, err := callText(args)
	if err != nil {
		return rejectedPromise(err)
	}
	users := intList(v)
	return jc.jsonCall(func() (json.RawMessage, error) { return jc.c.UsersLastSeen(jc.ctx, users) })
}

// listChannels implements listChannels() → Promise of the server's answer.
func (jc *jsClient) listChannels([]js.Value) any {
	return jc.jsonCall(func() (json.RawMessage, error) { return jc.c.ListChannels(jc.ctx) })
}

// ping implements ping(timeout seconds) → Promise of the server's answer.
func (jc *jsClient) ping(args []js.Value) any {
	var timeout time.Duration
	if t := arg(args, 0); t.Type() == js.TypeNumber && t.Float() > 0 {
		timeout = time.Duration(t.Float() * float64(time.Second))
	}
	return jc.jsonCall(func() (json.RawMessage, error) { return jc.c.Ping(jc.ctx, timeout) })
}

// subscribeUserStatus implements subscribeUserStatusChange(userId) → Promise<void>; the callbacks live
// in the wrapper.
func (jc *jsClient) subscribeUserStatus(args []js.Value) any {
	user := intArg(args)
	return newPromise(jc.reg, func() (any, error) {
		if err := jc.c.SubscribeUserStatus(jc.ctx, user); err != nil {
			return nil, jc.failure("subscribeUserStatusChange", err)
		}
		return js.Undefined(), nil
	})
}

// unsubscribeUserStatus implements unsubscribeUserStatusChange(userId) → Promise<void>.
func (jc *jsClient) unsubscribeUserStatus(args []js.Value) any {
	user := intArg(args)
	return newPromise(jc.reg, func() (any, error) {
		if err := jc.c.UnsubscribeUserStatus(jc.ctx, user); err != nil {
			return nil, jc.failure("unsubscribeUserStatusChange", err)
		}
		return js.Undefined(), nil
	})
}

// jsonCall runs a call returning JSON text and resolves with the parsed value.
func (jc *jsClient) jsonCall(work func() (json.RawMessage, error)) js.Value {
	return newPromise(jc.reg, func() (any, error) {
		res, err := work()
		if err != nil {
			return nil, jc.failure("call", err)
		}
		return jsonValue(res), nil
	})
}

// intArg reads the first argument as an integer user id; anything else gives 0, which the client
// refuses with INVALID_ARGUMENT.
func intArg(args []js.Value) int {
	a := arg(args, 0)
	if a.Type() != js.TypeNumber {
		return 0
	}
	f := a.Float()
	if f != float64(int(f)) {
		return 0
	}
	return int(f)
}
