package standin

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// User status of the JSON-RPC server (docs/protocol.md §6.4, §18).
//
// A connection watches users with subscribeStatusChange {userId} and stops with
// unsubscribeStatusChange; its watches end with it. When a watched user's first connection opens
// (online) or its last one ends (offline), every watching connection gets
//
//	{module_id: "online", command: "userStatusChange", params: {user_id, online}, extra: {…}}
//
// from the backend (sender type 2), with the portal's extra and a message id of the server's sequence.
// The message is live only (expiry 0), never stored: a status is about the present, so an old one
// replayed after a reconnect would be wrong, and the official client sends its subscriptions again
// after every open anyway. Watching does not announce the current status; getUsersLastSeen tells it.

// statusParams is the params of userStatusChange.
type statusParams struct {
	UserID int  `json:"user_id"`
	Online bool `json:"online"`
}

// rpcWatchedUser reads the userId of subscribeStatusChange / unsubscribeStatusChange: a positive
// integer, or a string holding one (the official client sends the ids of its callback map, object
// keys, when it subscribes again after a reconnect).
func rpcWatchedUser(raw json.RawMessage) (int, bool) {
	var p struct {
		UserID json.RawMessage `json:"userId"`
	}
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &p) != nil {
		return 0, false
	}
	v := bytes.TrimSpace(p.UserID)
	if len(v) > 1 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return 0, false
		}
		v = []byte(s)
	}
	id, err := strconv.Atoi(string(v))
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// rpcStatusWatch answers subscribeStatusChange (watch true) or unsubscribeStatusChange.
func (s *Server) rpcStatusWatch(c *wsConn, raw json.RawMessage, watch bool) (json.RawMessage, *protocol.RPCError) {
	user, ok := rpcWatchedUser(raw)
	if !ok {
		s.stats.clientErrors.Add(1)
		return nil, rpcError(protocol.RPCInvalidParams, "Invalid params: userId must be a positive integer")
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if watch {
		s.watchLocked(c, user)
	} else {
		s.unwatchLocked(c, user)
	}
	return json.RawMessage("{}"), nil
}

// watchLocked makes c watch user. connMu is held.
func (s *Server) watchLocked(c *wsConn, user int) {
	if c.watching == nil {
		c.watching = map[int]struct{}{}
	}
	c.watching[user] = struct{}{}
	set := s.watchers[user]
	if set == nil {
		set = map[*wsConn]struct{}{}
		s.watchers[user] = set
	}
	set[c] = struct{}{}
}

// unwatchLocked makes c forget user. connMu is held.
func (s *Server) unwatchLocked(c *wsConn, user int) {
	delete(c.watching, user)
	if set := s.watchers[user]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(s.watchers, user)
		}
	}
}

// unwatchAllLocked ends every watch of a closing connection. connMu is held.
func (s *Server) unwatchAllLocked(c *wsConn) {
	for user := range c.watching {
		s.unwatchLocked(c, user)
	}
}

// statusChangedLocked tells every connection watching user that it went online or offline. connMu
// is held, so changes reach the watchers in the order they happened.
func (s *Server) statusChangedLocked(user int, online bool, now time.Time) {
	set := s.watchers[user]
	if len(set) == 0 {
		return
	}
	subs := make([]subscriber, 0, len(set))
	for c := range set {
		subs = append(subs, c)
	}
	body := s.eventBodyJSON("online", "userStatusChange", marshalJSON(statusParams{UserID: user, Online: online}), now)
	m := &message{body: body, sender: protocol.PBSender{Type: protocol.SenderBackend}}
	s.hub.deliverTo(subs, m, now)
	s.stats.statusChanges.Add(int64(len(subs)))
}
