package client

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// DefaultSendTimeout is how long a publish or a call made while no connection is open waits for one:
// long enough to ride out a reconnect or a channel renewal, short enough for an app to tell its user.
const DefaultSendTimeout = 10 * time.Second

// defaultCallTimeout is how long a JSON-RPC call waits for its answer once sent (the reference
// clients' 5 s).
const defaultCallTimeout = 5 * time.Second

// PublishingSupported reports whether the server version can carry client publishing at all (version
// 4 and later), as the official client's isPublishingSupported does; false before a config is loaded.
func (c *Client) PublishingSupported() bool {
	cfg := c.config()
	return cfg != nil && cfg.Server.Version > 3
}

// PublishingEnabled reports whether the config allows client publishing: supported and
// server.publish_enabled, as the official client's isPublishingEnabled does. A version 5 server takes
// the publish call whatever the flag says (docs/protocol.md §17); SendMessage follows the server.
func (c *Client) PublishingEnabled() bool {
	cfg := c.config()
	return cfg != nil && cfg.Server.Version > 3 && cfg.Server.PublishEnabled
}

func (c *Client) config() *protocol.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap.cfg
}

// SendMessage publishes msg to users (docs/protocol.md §17): in version 5 with the publish call,
// which the server answers (its result is returned); in version 4 as a protobuf frame to each user's
// channel of this app, named by its public id, followed by a channelStats request whose answer tells
// that the frame arrived (nil is returned then: the push server answers a publish with nothing). Sent to the app's own channels, a message reaches the other users' instances
// of the same app and, sent to oneself, every instance of the app the user has open.
//
// A message made while no connection is open waits for one, at most Options.SendTimeout, and then
// fails with CodeNotConnected; it is written once, on one connection. A connection that closes
// before the server answered or acknowledged it fails it with CodeConnectionLost (it may or may not
// have been delivered, so it is not sent again), and no answer within 5 s with CodeTimeout. Version 3, long polling and a
// version 4 config with publish_enabled false fail at once with CodePublishingUnavailable. Errors are
// *Error values, or the *protocol.RESTError of the public id lookup.
func (c *Client) SendMessage(ctx context.Context, users []int, msg protocol.ClientMessage) (json.RawMessage, error) {
	if err := protocol.UserIDs(users); err != nil {
		return nil, c.refuse(ctx, &Error{Code: CodeInvalidArgument, Description: "sendMessage: " + err.Error()})
	}
	return c.publish(ctx, msg, func(cfg *protocol.Config) (receivers, error) {
		if cfg.Wire() == protocol.WireJSONRPC {
			return receivers{users: users}, nil
		}
		refs, cached, err := c.appChannelsOf(ctx, cfg, users)
		return receivers{refs: refs, cached: cached}, err
	})
}

// SendMessageToChannels publishes msg to public channels, each "<publicId>.<signature>" (as
// pull.channel.public.list or a config's channels.private.public_id give them). It answers as
// SendMessage does.
func (c *Client) SendMessageToChannels(ctx context.Context, channels []string, msg protocol.ClientMessage) (json.RawMessage, error) {
	if len(channels) == 0 {
		return nil, c.refuse(ctx, &Error{Code: CodeInvalidArgument, Description: "sendMessageToChannels: the channel list is empty"})
	}
	refs := make([]protocol.PublicRef, 0, len(channels))
	for i, ch := range channels {
		r, err := protocol.ParsePublicRef(ch)
		if err != nil {
			return nil, c.refuse(ctx, &Error{Code: CodeInvalidArgument, Description: "sendMessageToChannels: channel " + strconv.Itoa(i) + ": " + err.Error()})
		}
		refs = append(refs, r)
	}
	return c.publish(ctx, msg, func(*protocol.Config) (receivers, error) {
		return receivers{refs: refs}, nil
	})
}

// receivers are whom a message goes to: user ids (version 5 resolves them) or public channels, and
// among those the ids that came from the cache (appChannelsOf).
type receivers struct {
	users  []int
	refs   []protocol.PublicRef
	cached map[string]int
}

// publish checks msg, waits for a config and sends msg to the receivers route names for it.
func (c *Client) publish(ctx context.Context, msg protocol.ClientMessage,
	route func(*protocol.Config) (receivers, error)) (json.RawMessage, error) {
	if err := msg.Check(); err != nil {
		return nil, c.refuse(ctx, &Error{Code: CodeInvalidArgument, Description: "publish: " + err.Error()})
	}
	// Publishes reach the loop in the order they were called (line.go): a public id lookup of one
	// never lets a later one overtake it.
	place := c.place(ctx)
	if err := c.publishes.wait(ctx, place); err != nil {
		return nil, err
	}
	handed := false
	defer func() {
		if !handed {
			c.publishes.finish(place)
		}
	}()
	until := time.Now().Add(c.opts.SendTimeout)
	cfg, err := c.awaitConfig(ctx, until)
	if err != nil {
		return nil, err
	}
	if err := publishable(cfg); err != nil {
		return nil, err
	}
	if c.opts.DisableWebSocket && cfg.Wire() != protocol.WireJSONRPC {
		return nil, codeError(CodePublishingUnavailable, "the client uses long polling only (disableWebSocket), which cannot carry client publishing")
	}
	to, err := route(cfg)
	if err != nil {
		return nil, err
	}
	o := &outgoing{wire: cfg.Wire(), until: until}
	if o.wire == protocol.WireJSONRPC {
		o.method, o.params, o.answerIn = "publish", protocol.RPCPublishParams(to.users, to.refs, msg), defaultCallTimeout
	} else {
		if o.frame, err = protocol.EncodeClientPublish(to.refs, msg); err != nil {
			return nil, &Error{Code: CodeInvalidArgument, Description: "publish: " + err.Error()}
		}
		// The stats request names the message's receivers: channels the server already checked the
		// signatures of, so it can only fail when the publish did; its answer also tells which of
		// them nobody reads.
		if o.ack, err = protocol.EncodeStatsRequest(to.refs); err != nil {
			return nil, &Error{Code: CodeInvalidArgument, Description: "publish: " + err.Error()}
		}
		o.answerIn, o.cached = defaultCallTimeout, to.cached
	}
	handed = true
	return c.submit(ctx, o, func() { c.publishes.finish(place) })
}

// refuse gives up the place in line ctx holds (a publish refused before it waited for its turn) and
// returns err.
func (c *Client) refuse(ctx context.Context, err error) error {
	c.publishes.finish(c.place(ctx))
	return err
}

// publishable tells why cfg cannot carry client publishing, or nil (docs/protocol.md §1.4, §17).
func publishable(cfg *protocol.Config) error {
	v := cfg.Server.Version
	switch {
	case v >= 5:
		return nil
	case v < 4:
		return codeError(CodePublishingUnavailable, "client publishing needs server version 4 or later; this server is version "+strconv.Itoa(v))
	case !cfg.Server.PublishEnabled:
		return codeError(CodePublishingUnavailable, "the portal disabled client publishing (server.publish_enabled is false)")
	case cfg.Wire() != protocol.WireProtobuf:
		return codeError(CodePublishingUnavailable, "client publishing needs the binary wire format")
	}
	return nil
}

// awaitConfig returns the config in use, waiting until until for a starting client to load one.
func (c *Client) awaitConfig(ctx context.Context, until time.Time) (*protocol.Config, error) {
	c.mu.Lock()
	l, cfg, destroyed := c.loop, c.snap.cfg, c.destroyed
	c.mu.Unlock()
	switch {
	case destroyed:
		return nil, ErrDestroyed
	case l == nil:
		return nil, codeError(CodeNotConnected, "the client is not started")
	case cfg != nil:
		return cfg, nil
	}
	ch := make(chan *protocol.Config, 1)
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	select {
	case l.cmds <- command{cfg: ch}:
	case <-l.exiting:
		return nil, codeError(CodeNotConnected, "the client stopped")
	case <-timer.C:
		return nil, codeError(CodeNotConnected, "no config was loaded in time")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case cfg := <-ch:
		if cfg == nil {
			return nil, codeError(CodeNotConnected, "the client stopped")
		}
		return cfg, nil
	case <-timer.C:
		return nil, codeError(CodeNotConnected, "no config was loaded in time")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// submit hands o to the loop and waits for its outcome; handed, when set, runs once o was handed over
// (or could not be). The loop settles every item it took, so the wait ends with the loop at the
// latest; once handed over, an item is not withdrawn when ctx ends.
func (c *Client) submit(ctx context.Context, o *outgoing, handed func()) (json.RawMessage, error) {
	if handed != nil {
		defer func() {
			if handed != nil {
				handed()
			}
		}()
	}
	c.mu.Lock()
	l, destroyed := c.loop, c.destroyed
	c.mu.Unlock()
	if destroyed {
		return nil, ErrDestroyed
	}
	if l == nil {
		return nil, codeError(CodeNotConnected, "the client is not started")
	}
	o.reply = make(chan reply, 1)
	done := o.reply
	select {
	case l.cmds <- command{out: o}:
	case <-l.exiting:
		return nil, codeError(CodeNotConnected, "the client stopped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if handed != nil {
		handed()
		handed = nil
	}
	select {
	case r := <-done:
		return r.result, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
