package client

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/tidwall/gjson"
)

// Presence calls of a JSON-RPC server (version 5 and later; docs/protocol.md §6.4, §18). On an older
// server each fails at once with CodeJSONRPCRequired: there is nothing that could answer.

// call makes one JSON-RPC call and returns its result. It waits for a connection as a publish does,
// and then at most answerIn for the answer; a connection that closes before the answer makes it go out
// again on the next one (every call made here is safe to carry out twice).
func (c *Client) call(ctx context.Context, method string, params json.RawMessage, answerIn time.Duration, watch int) (json.RawMessage, error) {
	until := time.Now().Add(c.opts.SendTimeout)
	cfg, err := c.awaitConfig(ctx, until)
	if err != nil {
		return nil, err
	}
	if cfg.Wire() != protocol.WireJSONRPC {
		return nil, codeError(CodeJSONRPCRequired, method+" needs a JSON-RPC server (version 5 or later); this server is version "+strconv.Itoa(cfg.Server.Version))
	}
	return c.submit(ctx, &outgoing{
		wire: protocol.WireJSONRPC, method: method, params: params, retry: true,
		until: until, answerIn: answerIn, watch: watch,
	}, nil)
}

// Ping asks the server to answer within timeout (0 means 5 s) and returns its result.
func (c *Client) Ping(ctx context.Context, timeout time.Duration) (json.RawMessage, error) {
	if timeout <= 0 {
		timeout = defaultCallTimeout
	}
	return c.call(ctx, "ping", json.RawMessage("{}"), timeout, 0)
}

// ListChannels returns the server's list of the channels this connection reads, as it sent it.
func (c *Client) ListChannels(ctx context.Context) (json.RawMessage, error) {
	return c.call(ctx, "listChannels", json.RawMessage("{}"), defaultCallTimeout, 0)
}

// UsersLastSeen returns, for each user the server or the portal knows, the seconds since the user
// was last connected (0: connected now), as a JSON object keyed by user id; a user never seen is left
// out. The push server answers first; the users it does not know are asked of the portal
// (pull.api.user.getLastSeen, with the parameters the official client sends), and both answers are
// merged.
func (c *Client) UsersLastSeen(ctx context.Context, users []int) (json.RawMessage, error) {
	if err := protocol.UserIDs(users); err != nil {
		return nil, &Error{Code: CodeInvalidArgument, Description: "getUsersLastSeen: " + err.Error()}
	}
	params, _ := json.Marshal(struct {
		UserList []int `json:"userList"`
	}{users})
	result, err := c.call(ctx, "getUsersLastSeen", params, defaultCallTimeout, 0)
	if err != nil {
		return nil, err
	}
	seen := map[int]float64{}
	readSeconds(gjson.ParseBytes(result), seen)
	var unknown []int
	for _, u := range users {
		if _, ok := seen[u]; !ok && !containsInt(unknown, u) {
			unknown = append(unknown, u)
		}
	}
	if len(unknown) > 0 {
		answer, err := c.rest(ctx, "pull.api.user.getLastSeen", map[string]any{"userIds": unknown, "sendToQueueSever": true})
		if err != nil {
			return nil, err
		}
		readSeconds(gjson.GetBytes(answer, "result"), seen)
	}
	ids := make([]int, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := []byte{'{'}
	for i, id := range ids {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, strconv.Itoa(id))
		out = append(out, ':')
		out = strconv.AppendFloat(out, seen[id], 'f', -1, 64)
	}
	return append(out, '}'), nil
}

// readSeconds adds the numeric entries of a {"<userId>": seconds} object to seen.
func readSeconds(v gjson.Result, seen map[int]float64) {
	v.ForEach(func(k, v gjson.Result) bool {
		id, err := strconv.Atoi(k.String())
		if err != nil || id <= 0 {
			return true
		}
		switch v.Type {
		case gjson.Number:
			seen[id] = v.Num
		case gjson.String:
			if f, err := strconv.ParseFloat(v.Str, 64); err == nil {
				seen[id] = f
			}
		}
		return true
	})
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// SubscribeUserStatus asks the server to report user's status changes (online/userStatusChange
// messages, delivered to online subscribers). Once accepted, the subscription is made again on every
// new connection, until UnsubscribeUserStatus.
func (c *Client) SubscribeUserStatus(ctx context.Context, user int) error {
	if user <= 0 {
		return &Error{Code: CodeInvalidArgument, Description: "subscribeUserStatusChange: userId must be a positive integer"}
	}
	_, err := c.call(ctx, "subscribeStatusChange", userIDParams(user), defaultCallTimeout, user)
	return err
}

// UnsubscribeUserStatus ends the subscription to user's status changes. It is forgotten at once (no
// later connection makes it again); the server is told when a connection is open.
func (c *Client) UnsubscribeUserStatus(ctx context.Context, user int) error {
	if user <= 0 {
		return &Error{Code: CodeInvalidArgument, Description: "unsubscribeUserStatusChange: userId must be a positive integer"}
	}
	c.setWatched(user, false)
	_, err := c.call(ctx, "unsubscribeStatusChange", userIDParams(user), defaultCallTimeout, 0)
	return err
}

// setWatched adds or removes a followed user.
func (c *Client) setWatched(user int, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !on {
		delete(c.watched, user)
		return
	}
	if c.watched == nil {
		c.watched = make(map[int]bool)
	}
	c.watched[user] = true
}

// watchedUsers returns the followed users in order.
func (c *Client) watchedUsers() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int, 0, len(c.watched))
	for u := range c.watched {
		out = append(out, u)
	}
	sort.Ints(out)
	return out
}

// rest makes one REST call through the app's session, bounded by restTimeout.
func (c *Client) rest(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	if c.opts.REST == nil {
		return nil, &Error{Code: CodeInvalidArgument, Description: "no REST caller configured"}
	}
	ctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	return c.opts.REST.Call(ctx, method, params)
}
