package client

import (
	"context"
	"encoding/json"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/session"
)

// The app's lifecycle calls beside Start and Stop, as the official client names them, and the facts
// its getters read.

// StartWith is Start from a config the app already has: answer is a pull.application.config.get
// answer or its result object. A config that does not parse is returned as its error and nothing
// starts. Later renewals load the config as usual.
func (c *Client) StartWith(ctx context.Context, answer []byte) error {
	cfg, err := protocol.ParseConfig(answer, time.Now())
	if err != nil {
		return err
	}
	return c.start(ctx, cfg)
}

// Restart closes the connection with code and reason, loads the config again and connects. A client
// that is not started starts (without waiting for it to go online).
func (c *Client) Restart(ctx context.Context, code int, reason string) error {
	return c.lifecycle(ctx, &lifeCmd{kind: lifeRestart, code: code, reason: reason}, true)
}

// Reconnect closes the connection with code and reason and connects again after delay, with the
// config in use. It does nothing to a client that is not started.
func (c *Client) Reconnect(ctx context.Context, code int, reason string, delay time.Duration) error {
	return c.lifecycle(ctx, &lifeCmd{kind: lifeReconnect, code: code, reason: reason, delay: delay}, false)
}

// StopWith is Stop closing the connection with code and reason.
func (c *Client) StopWith(ctx context.Context, code int, reason string) error {
	c.mu.Lock()
	l := c.loop
	c.mu.Unlock()
	if l == nil {
		return nil
	}
	select {
	case l.cmds <- command{life: &lifeCmd{kind: lifeStop, code: code, reason: reason}}:
	case <-l.exiting:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Network tells the client what the browser says of connectivity: offline closes the connection and
// reports offline at once; online reconnects at once (session.Machine.Network).
func (c *Client) Network(online bool) {
	_ = c.lifecycle(context.Background(), &lifeCmd{kind: lifeNetwork, online: online}, false)
}

// SetLastMessageID sets the message id the next connection resumes after, for example one the app
// kept across a page reload.
func (c *Client) SetLastMessageID(mid string) {
	c.mu.Lock()
	if c.loop == nil {
		// No loop runs, and none can start while mu is held: the machine is ours to touch.
		c.m.SetResume(protocol.Resume{MID: mid})
		c.snap.stats.LastMID = mid
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = c.lifecycle(context.Background(), &lifeCmd{kind: lifeResume, mid: mid}, false)
}

// lifecycle hands cmd to the running loop; start tells whether a client that is not started gets a
// loop for it.
func (c *Client) lifecycle(ctx context.Context, cmd *lifeCmd, start bool) error {
	c.mu.Lock()
	l, destroyed := c.loop, c.destroyed
	c.mu.Unlock()
	if destroyed {
		return ErrDestroyed
	}
	if l == nil {
		if !start {
			if cmd.kind == lifeResume {
				c.SetLastMessageID(cmd.mid) // the loop ended meanwhile
			}
			return nil
		}
		var err error
		if l, err = c.ensureLoop(); err != nil {
			return err
		}
	}
	select {
	case l.cmds <- command{life: cmd}:
		return nil
	case <-l.exiting:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// life carries out a lifecycle command in the loop.
func (l *loop) life(m *session.Machine, cmd *lifeCmd, now time.Time) []session.Action {
	switch cmd.kind {
	case lifeRestart:
		return m.Restart(cmd.code, cmd.reason, now)
	case lifeReconnect:
		return m.Reconnect(cmd.code, cmd.reason, cmd.delay, now)
	case lifeStop:
		return m.StopWith(cmd.code, cmd.reason, now)
	case lifeNetwork:
		return m.Network(cmd.online, now)
	case lifeResume:
		m.SetResume(protocol.Resume{MID: cmd.mid})
	}
	return nil
}

// Facts are what the official client's getters tell, read from the config in use and the connection.
// ConnectionPath and PublicationPath hold channel ids or the token: they are for the app that asks,
// and are never logged.
type Facts struct {
	ServerVersion    int     `json:"serverVersion"`
	ServerMode       *string `json:"serverMode"`
	Revision         *int    `json:"revision"`
	JSONRPC          bool    `json:"jsonRpc"`
	SharedMode       bool    `json:"sharedMode"`
	WebSocketEnabled bool    `json:"webSocketEnabled"`
	WebSocketAllowed bool    `json:"webSocketAllowed"`
	Connected        bool    `json:"connected"`
	ConnectionPath   string  `json:"connectionPath"`
	PublicationPath  string  `json:"publicationPath"`
}

// Facts returns the getters' facts; zero values before a config is loaded.
func (c *Client) Facts() Facts {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := Facts{Connected: c.snap.status == session.StatusOnline}
	cfg := c.snap.cfg
	if cfg == nil {
		return f
	}
	mode, rev := cfg.Server.Mode, cfg.API.RevisionWeb
	f.ServerVersion, f.ServerMode, f.Revision = cfg.Server.Version, &mode, &rev
	f.JSONRPC = cfg.Wire() == protocol.WireJSONRPC
	f.SharedMode = cfg.IsShared()
	f.WebSocketEnabled = cfg.WebSocketEnabled()
	f.WebSocketAllowed = f.WebSocketEnabled && !c.opts.DisableWebSocket && c.snap.trans != protocol.TransportLongPolling
	f.ConnectionPath = c.snap.url
	if f.ConnectionPath == "" {
		if u, err := cfg.ConnectionURL(c.snap.trans, c.opts.Secure, protocol.Resume{MID: c.snap.stats.LastMID}); err == nil {
			f.ConnectionPath = u
		}
	}
	f.PublicationPath, _ = cfg.PublicationURL(c.opts.Secure)
	return f
}

// ConfigJSON returns the config in use as a config result object (as the portal sends it, with the
// channels the client moved to since), or nil before one is loaded.
func (c *Client) ConfigJSON() json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap.cfg == nil {
		return nil
	}
	return c.snap.cfg.ResultJSON()
}
