package protocol

import (
	"encoding/json"
	"time"
)

// ResultJSON returns c as a config result object in the portal's shape (docs/protocol.md §2.2): what
// an app that asks for the config in use gets, with the channels a client moved to since it was
// loaded. ParseConfig reads it back to the same Config. Its ids, signatures and token are secrets.
func (c *Config) ResultJSON() []byte {
	type channel struct {
		ID       string `json:"id"`
		PublicID string `json:"public_id,omitempty"`
		Start    string `json:"start"`
		End      string `json:"end"`
		Type     string `json:"type"`
	}
	type public struct {
		UserID    int    `json:"user_id"`
		PublicID  string `json:"public_id"`
		Signature string `json:"signature"`
		Start     string `json:"start"`
		End       string `json:"end"`
	}
	out := struct {
		Server struct {
			Version           int    `json:"version"`
			ServerEnabled     bool   `json:"server_enabled"`
			Mode              string `json:"mode"`
			Hostname          string `json:"hostname,omitempty"`
			LongPolling       string `json:"long_polling"`
			LongPoolingSecure string `json:"long_pooling_secure"`
			WebSocketEnabled  bool   `json:"websocket_enabled"`
			WebSocket         string `json:"websocket"`
			WebSocketSecure   string `json:"websocket_secure"`
			PublishEnabled    bool   `json:"publish_enabled"`
			Publish           string `json:"publish"`
			PublishSecure     string `json:"publish_secure"`
			ConfigTimestamp   int64  `json:"config_timestamp"`
		} `json:"server"`
		API struct {
			RevisionWeb    int `json:"revision_web"`
			RevisionMobile int `json:"revision_mobile"`
		} `json:"api"`
		Channels struct {
			Private *channel `json:"private,omitempty"`
			Shared  *channel `json:"shared,omitempty"`
		} `json:"channels"`
		PublicChannels any    `json:"publicChannels"`
		ClientID       string `json:"clientId,omitempty"`
		JWT            string `json:"jwt,omitempty"`
		Exp            int64  `json:"exp,omitempty"`
		ServerTime     string `json:"serverTime,omitempty"`
	}{}
	s := &out.Server
	s.Version, s.ServerEnabled, s.Mode, s.Hostname = c.Server.Version, c.Server.ServerEnabled, c.Server.Mode, c.Server.Hostname
	s.LongPolling, s.LongPoolingSecure = c.Server.LongPolling, c.Server.LongPollingSecure
	s.WebSocketEnabled, s.WebSocket, s.WebSocketSecure = c.Server.WebSocketEnabled, c.Server.WebSocket, c.Server.WebSocketSecure
	s.PublishEnabled, s.Publish, s.PublishSecure = c.Server.PublishEnabled, c.Server.Publish, c.Server.PublishSecure
	s.ConfigTimestamp = c.Server.ConfigTimestamp
	out.API.RevisionWeb, out.API.RevisionMobile = c.API.RevisionWeb, c.API.RevisionMobile
	conv := func(ch *Channel) *channel {
		if ch == nil {
			return nil
		}
		return &channel{ID: ch.ID, PublicID: ch.PublicID, Start: isoTime(ch.Start), End: isoTime(ch.End), Type: ch.Type}
	}
	out.Channels.Private, out.Channels.Shared = conv(c.Channels.Private), conv(c.Channels.Shared)
	out.PublicChannels = false
	if len(c.PublicChannels) > 0 {
		m := make(map[string]public, len(c.PublicChannels))
		for k, p := range c.PublicChannels {
			m[k] = public{UserID: p.UserID, PublicID: p.PublicID, Signature: p.Signature, Start: isoTime(p.Start), End: isoTime(p.End)}
		}
		out.PublicChannels = m
	}
	out.ClientID, out.JWT, out.Exp = c.ClientID, c.JWT, c.Exp
	if !c.ServerTime.IsZero() {
		out.ServerTime = isoTime(c.ServerTime)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return b
}

// isoTime writes t as the portal does (PHP date('c')); "" for the zero time.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}
