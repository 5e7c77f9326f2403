package standin

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// rpcPublishParams are the params of the publish RPC (docs/protocol.md §6.4).
type rpcPublishParams struct {
	UserList    []int             `json:"userList"`
	ChannelList []json.RawMessage `json:"channelList"`
	Body        json.RawMessage   `json:"body"`
	Expiry      uint32            `json:"expiry"`
	UserParams  json.RawMessage   `json:"user_params"`
	Dictionary  json.RawMessage   `json:"dictionary"`
}

// handleRPCFrame handles one text frame from a JSON-RPC client: pong, mack:<mid>, or requests.
func (s *Server) handleRPCFrame(c *wsConn, data []byte) {
	text := string(data)
	switch {
	case text == protocol.PongFrame:
		s.stats.pongs.Add(1)
		return
	case strings.HasPrefix(text, string(protocol.Mack(""))):
		s.stats.acks.Add(1)
		return
	}
	reqs, err := protocol.DecodeRPCRequests(data)
	if err != nil {
		s.stats.clientErrors.Add(1)
		code, msg := protocol.RPCParseError, "Parse error"
		if rerr, ok := err.(*protocol.RPCError); ok {
			code, msg = rerr.Code, rerr.Message
		}
		c.push(outItem{kind: outRaw, raw: marshalJSON(rpcNullIDError{JSONRPC: "2.0", Error: rpcErrorBody{code, msg}})})
		return
	}
	var answers [][]byte
	for _, req := range reqs {
		s.stats.rpcCalls.Add(1)
		result, rerr := s.rpcCall(c, req)
		if !req.HasID {
			continue
		}
		if rerr != nil {
			answers = append(answers, protocol.EncodeRPCErrorResponse(req.ID, rerr.Code, rerr.Message))
		} else {
			answers = append(answers, protocol.EncodeRPCResult(req.ID, result))
		}
	}
	if len(answers) == 0 {
		return
	}
	frame := answers[0]
	if batch := bytes.TrimSpace(data); len(batch) > 0 && batch[0] == '[' {
		frame = append(append([]byte{'['}, bytes.Join(answers, []byte{','})...), ']')
	}
	c.push(outItem{kind: outRaw, raw: frame})
}

// rpcNullIDError answers a frame whose requests could not be read, so no id is known.
type rpcNullIDError struct {
	JSONRPC string       `json:"jsonrpc"`
	ID      *int64       `json:"id"`
	Error   rpcErrorBody `json:"error"`
}

type rpcErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func rpcError(code int, msg string) *protocol.RPCError {
	return &protocol.RPCError{Code: code, Message: msg}
}

// rpcCall answers one request.
func (s *Server) rpcCall(c *wsConn, req protocol.RPCRequest) (json.RawMessage, *protocol.RPCError) {
	switch req.Method {
	case "":
		return nil, rpcError(protocol.RPCInvalidRequest, "Invalid Request")
	case "ping", "subscribe":
		// subscribe {channelList: ["internal:user_status"]} (the portal's own client) is accepted
		// and does nothing: the stand-in has no internal channels.
		return json.RawMessage("{}"), nil
	case "subscribeStatusChange", "unsubscribeStatusChange":
		return s.rpcStatusWatch(c, req.Params, req.Method == "subscribeStatusChange")
	case "publish":
		return s.rpcPublish(c, req.Params)
	case "listChannels":
		return s.rpcListChannels(c), nil
	case "getUsersLastSeen":
		var p struct {
			UserList []int `json:"userList"`
		}
		if len(req.Params) > 0 && json.Unmarshal(req.Params, &p) != nil {
			s.stats.clientErrors.Add(1)
			return nil, rpcError(protocol.RPCInvalidParams, "Invalid params: userList must be an array of user ids")
		}
		return marshalJSON(s.lastSeenMap(p.UserList)), nil
	default:
		return nil, rpcError(protocol.RPCMethodNotFound, "Method not found")
	}
}

// rpcPublish publishes a client message to users (their user keys) and signed public channels (the
// owner's user key when the public id is an app channel's, else the public id itself). The sender
// is the connection's user as a client.
func (s *Server) rpcPublish(c *wsConn, raw json.RawMessage) (json.RawMessage, *protocol.RPCError) {
	var p rpcPublishParams
	if json.Unmarshal(raw, &p) != nil {
		s.stats.clientErrors.Add(1)
		return nil, rpcError(protocol.RPCInvalidParams, "Invalid params")
	}
	var body struct {
		ModuleID *string `json:"module_id"`
		Command  *string `json:"command"`
	}
	if b := bytes.TrimSpace(p.Body); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &body) != nil ||
		body.ModuleID == nil || body.Command == nil {
		s.stats.clientErrors.Add(1)
		return nil, rpcError(protocol.RPCInvalidParams, "Invalid params: body needs module_id and command")
	}
	var keys []string
	for _, u := range p.UserList {
		if u > 0 {
			keys = append(keys, userKey(u))
		}
	}
	s.mu.Lock()
	for _, ch := range p.ChannelList {
		key, ok := s.resolvePublicLocked(ch)
		if !ok {
			s.mu.Unlock()
			s.stats.clientErrors.Add(1)
			return nil, rpcError(protocol.RPCInvalidParams, "Invalid params: bad channel signature")
		}
		keys = append(keys, key)
	}
	s.mu.Unlock()
	if len(keys) == 0 {
		s.stats.clientErrors.Add(1)
		return nil, rpcError(protocol.RPCInvalidParams, "Invalid params: no receivers")
	}
	m := &message{
		body:       bytes.TrimSpace(p.Body),
		expiry:     p.Expiry,
		sender:     protocol.PBSender{Type: protocol.SenderClient, ID: c.sub.senderID},
		channel:    keys[0],
		userParams: p.UserParams,
		dictionary: p.Dictionary,
	}
	s.publishMessage(keys, m, s.now())
	s.stats.clientPublishes.Add(1)
	return json.RawMessage("{}"), nil
}

// resolvePublicLocked checks one channelList entry ("pubId.sig" or {publicId, signature}) and returns
// the key to publish to.
func (s *Server) resolvePublicLocked(raw json.RawMessage) (string, bool) {
	var named string
	if json.Unmarshal(raw, &named) != nil {
		var obj struct {
			PublicID  string `json:"publicId"`
			Signature string `json:"signature"`
		}
		if json.Unmarshal(raw, &obj) != nil {
			return "", false
		}
		named = obj.PublicID + "." + obj.Signature
	}
	pub, ok := parsePublicChannel(named, s.opts.SignatureKey)
	if !ok {
		return "", false
	}
	if own, ok := s.portal.owners[pub]; ok && own.app {
		return userKey(own.user), true
	}
	return pub, true
}

// rpcListChannels lists the connection's channels: shared ids and the user target.
func (s *Server) rpcListChannels(c *wsConn) json.RawMessage {
	type entry struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	out := []entry{}
	for _, k := range c.sub.keys {
		if u, ok := strings.CutPrefix(k, "user:"); ok {
			out = append(out, entry{ID: u, Type: "user"})
			continue
		}
		out = append(out, entry{ID: k, Type: "shared"})
	}
	return marshalJSON(struct {
		Channels []entry `json:"channels"`
	}{out})
}

// lastSeenMap answers getUsersLastSeen: 0 for users connected now, whole seconds since the last
// connection ended otherwise; users never seen are left out.
func (s *Server) lastSeenMap(ids []int) map[string]int64 {
	now := s.now()
	out := map[string]int64{}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for _, id := range ids {
		key := strconv.Itoa(id)
		if s.online[id] > 0 {
			out[key] = 0
			continue
		}
		if t, ok := s.lastSeen[id]; ok {
			out[key] = int64(now.Sub(t) / time.Second)
		}
	}
	return out
}
