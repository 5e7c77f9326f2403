package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"
)

// JSON-RPC 2.0 over the WebSocket of server version 5 and later (docs/protocol.md §6.4, §13, §21.5).

// PingFrame and PongFrame are the raw text keep-alive frames: the server sends ping, the client
// answers pong. Neither is JSON.
const (
	PingFrame = "ping"
	PongFrame = "pong"
)

// MethodIncomingMessage is the method of the server's delivery requests.
const MethodIncomingMessage = "incoming.message"

// Standard JSON-RPC error codes known to the clients.
const (
	RPCParseError     = -32700
	RPCInvalidRequest = -32600
	RPCMethodNotFound = -32601
	RPCInvalidParams  = -32602
	RPCInternalError  = -32603
)

// Mack returns the acknowledgement frame a client sends for every delivered message, duplicates
// included: the raw text mack:<mid>.
func Mack(mid string) []byte {
	return append([]byte("mack:"), mid...)
}

// RPCError is the error member of a JSON-RPC response.
type RPCError struct {
	Code    int
	Message string
	Data    json.RawMessage
}

// Error implements error.
func (e *RPCError) Error() string {
	return "json-rpc error " + strconv.Itoa(e.Code) + ": " + e.Message
}

// RPCResponse is an answer to a client call: Result when it succeeded, Err when it failed.
type RPCResponse struct {
	ID     int64
	Result json.RawMessage
	Err    *RPCError
}

// RPCRequest is a JSON-RPC request or notification. HasID tells a request (that wants an answer) from
// a notification; Params is the raw params value (nil when absent).
type RPCRequest struct {
	ID     int64
	HasID  bool
	Method string
	Params json.RawMessage
}

// RPCFrame is what one server frame decodes to on the client: deliveries in Batch.Messages, a keep-alive
// in Ping, answers to the client's calls in Responses, and any other server request in Requests.
type RPCFrame struct {
	Batch
	Ping      bool
	Responses []RPCResponse
	Requests  []RPCRequest
}

// DecodeJSONRPC decodes one text frame from a JSON-RPC server on the client side.
//
// The raw text ping gives Ping. Otherwise the frame is a JSON object or an array of them:
//   - an incoming.message request becomes a Message: MID from params.mid ("" when missing, still
//     delivered), ModuleID, Command, Params and Extra from params.body (docs/protocol.md §7), Sender
//     from params.sender (type read as a number, a numeric string accepted; {Type: SenderUnknown} when
//     missing), and params.user_params then params.dictionary shallow-merged into Params when they are
//     objects;
//   - an object with a non-empty jsonrpc, an id, and a result or error becomes a Response;
//   - any other request (an object with a string method) goes to Requests;
//   - anything else, including an incoming.message whose body is not a valid message, counts as Garbage.
//
// Invalid JSON gives Garbage 1. Params and Extra share one private copy of the frame; treat them as
// read-only.
func DecodeJSONRPC(frame []byte) RPCFrame {
	var out RPCFrame
	if string(bytes.TrimSpace(frame)) == PingFrame {
		out.Ping = true
		return out
	}
	a := newArena(frame)
	if !gjson.Valid(a.s) {
		out.Garbage = 1
		return out
	}
	var senders []Sender
	root := gjson.Parse(a.s)
	switch {
	case root.IsObject():
		decodeRPCPacket(&a, root, &out, &senders)
	case root.IsArray():
		n := 0
		root.ForEach(func(_, v gjson.Result) bool {
			n++
			decodeRPCPacket(&a, v, &out, &senders)
			return true
		})
		if n == 0 {
			out.Garbage++
		}
	default:
		out.Garbage++
	}
	return out
}

// rpcMembers are the top-level members of one JSON-RPC packet.
type rpcMembers struct {
	jsonrpc, id, method, params, result, err gjson.Result
}

func readRPCMembers(v gjson.Result) rpcMembers {
	var r rpcMembers
	v.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "jsonrpc":
			r.jsonrpc = v
		case "id":
			r.id = v
		case "method":
			r.method = v
		case "params":
			r.params = v
		case "result":
			r.result = v
		case "error":
			r.err = v
		}
		return true
	})
	return r
}

func decodeRPCPacket(a *arena, v gjson.Result, out *RPCFrame, senders *[]Sender) {
	if !v.IsObject() {
		out.Garbage++
		return
	}
	r := readRPCMembers(v)
	switch {
	case r.method.Type == gjson.String && r.method.Str == MethodIncomingMessage:
		m, ok := incomingMessage(a, r.params, senders)
		if !ok {
			out.Garbage++
			return
		}
		out.Messages = append(out.Messages, m)
	case r.method.Type == gjson.String:
		out.Requests = append(out.Requests, RPCRequest{
			ID:     r.id.Int(),
			HasID:  r.id.Exists() && r.id.Type != gjson.Null,
			Method: r.method.Str,
			Params: a.raw(r.params.Raw),
		})
	case r.jsonrpc.String() != "" && r.id.Exists() && (r.result.Exists() || r.err.Exists()):
		resp := RPCResponse{ID: r.id.Int()}
		if r.err.Exists() {
			resp.Err = rpcError(a, r.err)
		} else {
			resp.Result = a.raw(r.result.Raw)
		}
		out.Responses = append(out.Responses, resp)
	default:
		out.Garbage++
	}
}

// rpcError reads an error member; one that is not an object keeps its text (or raw value) as Message.
func rpcError(a *arena, v gjson.Result) *RPCError {
	if !v.IsObject() {
		if v.Type == gjson.String {
			return &RPCError{Message: v.Str}
		}
		return &RPCError{Message: v.Raw}
	}
	e := &RPCError{}
	v.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "code":
			e.Code = int(v.Int())
		case "message":
			e.Message = v.String()
		case "data":
			e.Data = a.raw(v.Raw)
		}
		return true
	})
	return e
}

// incomingMessage reads the params of an incoming.message request.
func incomingMessage(a *arena, params gjson.Result, senders *[]Sender) (Message, bool) {
	if !params.IsObject() {
		return Message{}, false
	}
	var mid, body, sender, userParams, dictionary gjson.Result
	params.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "mid":
			mid = v
		case "body":
			body = v
		case "sender":
			sender = v
		case "user_params":
			userParams = v
		case "dictionary":
			dictionary = v
		}
		return true
	})
	var m Message
	if !readBodyValue(a, body, &m, gjson.Result{}) {
		return Message{}, false
	}
	m.MID = scalarString(mid)
	var s Sender
	if sender.IsObject() {
		sender.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "type":
				s.Type = int(v.Int())
			case "id":
				s.ID = scalarString(v)
			}
			return true
		})
	}
	m.Sender = newSender(senders, s)
	if userParams.IsObject() || dictionary.IsObject() {
		m.Params = MergeObjects(m.Params, objectOrNil(a, userParams), objectOrNil(a, dictionary))
	}
	return m, true
}

func objectOrNil(a *arena, v gjson.Result) json.RawMessage {
	if !v.IsObject() {
		return nil
	}
	return a.raw(v.Raw)
}

// EncodeRPCRequest writes a client call {"jsonrpc":"2.0","method":M,"params":P,"id":N}; empty params are
// written as {}.
func EncodeRPCRequest(id int64, method string, params json.RawMessage) []byte {
	b := appendRPCMethod(make([]byte, 0, 48+len(method)+len(params)), method, params)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, id, 10)
	return append(b, '}')
}

// EncodeRPCNotification writes a request without id, which gets no answer; empty params are written
// as {}.
func EncodeRPCNotification(method string, params json.RawMessage) []byte {
	b := appendRPCMethod(make([]byte, 0, 40+len(method)+len(params)), method, params)
	return append(b, '}')
}

func appendRPCMethod(b []byte, method string, params json.RawMessage) []byte {
	b = append(b, `{"jsonrpc":"2.0","method":`...)
	b = AppendJSONString(b, method)
	b = append(b, `,"params":`...)
	return appendRawOr(b, params, "{}")
}

func appendRawOr(b []byte, raw json.RawMessage, empty string) []byte {
	if len(raw) == 0 {
		return append(b, empty...)
	}
	return append(b, raw...)
}

// EncodeRPCResult writes a successful response {"jsonrpc":"2.0","id":N,"result":R}; an empty result is
// written as {}.
func EncodeRPCResult(id int64, result json.RawMessage) []byte {
	b := make([]byte, 0, 40+len(result))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"result":`...)
	b = appendRawOr(b, result, "{}")
	return append(b, '}')
}

// EncodeRPCErrorResponse writes an error response
// {"jsonrpc":"2.0","id":N,"error":{"code":C,"message":M}}.
func EncodeRPCErrorResponse(id int64, code int, message string) []byte {
	b := make([]byte, 0, 64+len(message))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"error":{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":`...)
	b = AppendJSONString(b, message)
	return append(b, "}}"...)
}

// EncodeIncomingMessage writes one delivery as a JSON-RPC server sends it (a notification, no id):
// {"jsonrpc":"2.0","method":"incoming.message","params":{"mid":…,"body":…,"sender":{"type":T,"id":…},
// "user_params":…,"dictionary":…}}. body is inserted verbatim ({} when empty); sender.id is left out
// when empty, user_params and dictionary when empty.
func EncodeIncomingMessage(mid string, body json.RawMessage, sender Sender, userParams, dictionary json.RawMessage) []byte {
	b := make([]byte, 0, 120+len(mid)+len(body)+len(sender.ID)+len(userParams)+len(dictionary))
	b = append(b, `{"jsonrpc":"2.0","method":"incoming.message","params":{"mid":`...)
	b = AppendJSONString(b, mid)
	b = append(b, `,"body":`...)
	b = appendRawOr(b, body, "{}")
	b = append(b, `,"sender":{"type":`...)
	b = strconv.AppendInt(b, int64(sender.Type), 10)
	if sender.ID != "" {
		b = append(b, `,"id":`...)
		b = AppendJSONString(b, sender.ID)
	}
	b = append(b, '}')
	if len(userParams) > 0 {
		b = append(b, `,"user_params":`...)
		b = append(b, userParams...)
	}
	if len(dictionary) > 0 {
		b = append(b, `,"dictionary":`...)
		b = append(b, dictionary...)
	}
	return append(b, "}}"...)
}

// DecodeRPCRequests reads what a client sends to a JSON-RPC server: one request or a batch array of
// them. An array element that is not a request (not an object, or without a string method) is returned
// with an empty Method so the caller can answer it with RPCInvalidRequest. The error is an *RPCError
// ready to send back: RPCParseError for invalid JSON, RPCInvalidRequest for an empty array or a value
// that is neither an object nor an array, or for a single object without a string method.
func DecodeRPCRequests(frame []byte) ([]RPCRequest, error) {
	a := newArena(frame)
	if !gjson.Valid(a.s) {
		return nil, &RPCError{Code: RPCParseError, Message: "parse error"}
	}
	root := gjson.Parse(a.s)
	switch {
	case root.IsObject():
		req := rpcRequest(&a, root)
		if req.Method == "" {
			return nil, &RPCError{Code: RPCInvalidRequest, Message: "invalid request"}
		}
		return []RPCRequest{req}, nil
	case root.IsArray():
		var reqs []RPCRequest
		root.ForEach(func(_, v gjson.Result) bool {
			reqs = append(reqs, rpcRequest(&a, v))
			return true
		})
		if len(reqs) == 0 {
			return nil, &RPCError{Code: RPCInvalidRequest, Message: "invalid request"}
		}
		return reqs, nil
	}
	return nil, &RPCError{Code: RPCInvalidRequest, Message: "invalid request"}
}

func rpcRequest(a *arena, v gjson.Result) RPCRequest {
	if !v.IsObject() {
		return RPCRequest{}
	}
	r := readRPCMembers(v)
	req := RPCRequest{ID: r.id.Int(), HasID: r.id.Exists() && r.id.Type != gjson.Null}
	if r.method.Type == gjson.String {
		req.Method = r.method.Str
		req.Params = a.raw(r.params.Raw)
	}
	return req
}
