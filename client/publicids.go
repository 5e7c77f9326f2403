package client

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/b24pull/b24pull/protocol"
)

// publicIDCache remembers the public ids of other users' channels of this app, each until its end.
//
// Version 4 publishing names every receiver by a public id (docs/protocol.md §17). The ids the config's
// publicChannels and a plain pull.channel.public.list give name the users' portal channels, which the
// app's connections do not read: a message sent there would reach the portal's own pages and no
// instance of the app. So the ids come from pull.channel.public.list with APPLICATION=Y, which names
// the app channel of each user, and the user's own from the config's channels.private.public_id
// (the app channel the client itself reads).
type publicIDCache struct {
	mu     sync.Mutex
	byUser map[int]protocol.PublicChannel
}

// appChannelsOf returns the public channel of each user's instances of this app, asking the portal
// once for all the users not cached. cached maps the lower-case public ids that came from the cache to
// their users: an acknowledgement saying nobody reads one of them (the portal rotated that channel
// before its end) drops it from the cache (forgetIdle), so the next publish asks again.
func (c *Client) appChannelsOf(ctx context.Context, cfg *protocol.Config, users []int) (refs []protocol.PublicRef, cached map[string]int, err error) {
	now := time.Now()
	refs = make([]protocol.PublicRef, len(users))
	self, selfRef, hasSelf := ownAppChannel(cfg)
	var missing []int
	c.publicIDs.mu.Lock()
	for i, u := range users {
		if hasSelf && u == self {
			refs[i] = selfRef
			continue
		}
		if p, ok := c.publicIDs.byUser[u]; ok && p.End.Add(cfg.TimeShift).After(now) {
			refs[i] = protocol.PublicRefOf(p)
			if cached == nil {
				cached = make(map[string]int)
			}
			cached[strings.ToLower(p.PublicID)] = u
			continue
		}
		if !containsInt(missing, u) {
			missing = append(missing, u)
		}
	}
	c.publicIDs.mu.Unlock()
	if len(missing) == 0 {
		return refs, cached, nil
	}
	answer, err := c.rest(ctx, "pull.channel.public.list", map[string]any{"USERS": missing, "APPLICATION": "Y"})
	if err != nil {
		return nil, nil, err
	}
	got, err := protocol.ParsePublicChannels(answer)
	if err != nil {
		return nil, nil, err
	}
	c.publicIDs.mu.Lock()
	defer c.publicIDs.mu.Unlock()
	if c.publicIDs.byUser == nil {
		c.publicIDs.byUser = make(map[int]protocol.PublicChannel)
	}
	for key, p := range got {
		if id, err := strconv.Atoi(key); err == nil && p.PublicID != "" {
			c.publicIDs.byUser[id] = p
		}
	}
	for i, u := range users {
		if refs[i].PublicID != "" {
			continue
		}
		p, ok := c.publicIDs.byUser[u]
		if !ok {
			return nil, nil, codeError(CodeNoPublicID, "the portal gave no public channel for user "+strconv.Itoa(u))
		}
		refs[i] = protocol.PublicRefOf(p)
	}
	return refs, cached, nil
}

// forgetIdle drops the cached public ids that a channelStats answer says nobody reads, among those
// of cached (public id → user).
func (c *Client) forgetIdle(stats []protocol.ChannelStats, cached map[string]int) {
	if len(cached) == 0 {
		return
	}
	c.publicIDs.mu.Lock()
	defer c.publicIDs.mu.Unlock()
	for _, st := range stats {
		if st.IsOnline {
			continue
		}
		id := hex.EncodeToString(st.ID)
		if u, ok := cached[id]; ok {
			if p, ok := c.publicIDs.byUser[u]; ok && strings.EqualFold(p.PublicID, id) {
				delete(c.publicIDs.byUser, u)
			}
		}
	}
}

// ownAppChannel returns the client's own user id (the one key of the config's publicChannels) and the
// public id of the app channel it reads.
func ownAppChannel(cfg *protocol.Config) (int, protocol.PublicRef, bool) {
	priv := cfg.Channels.Private
	if priv == nil || priv.PublicID == "" || len(cfg.PublicChannels) != 1 {
		return 0, protocol.PublicRef{}, false
	}
	var self int
	for key := range cfg.PublicChannels {
		self, _ = strconv.Atoi(key)
	}
	id, sig, ok := strings.Cut(priv.PublicID, ".")
	if self <= 0 || !ok {
		return 0, protocol.PublicRef{}, false
	}
	return self, protocol.PublicRef{PublicID: id, Signature: sig}, true
}
