package standin

import (
	"encoding/json"
	"strconv"
	"strings"
)

// configServer is the config's server object, keys in the portal's order.
type configServer struct {
	Version           int    `json:"version"`
	ServerEnabled     bool   `json:"server_enabled"`
	Mode              string `json:"mode"`
	LongPolling       string `json:"long_polling"`
	LongPoolingSecure string `json:"long_pooling_secure"`
	WebsocketEnabled  bool   `json:"websocket_enabled"`
	Websocket         string `json:"websocket"`
	WebsocketSecure   string `json:"websocket_secure"`
	PublishEnabled    bool   `json:"publish_enabled"`
	Publish           string `json:"publish"`
	PublishSecure     string `json:"publish_secure"`
	ConfigTimestamp   int64  `json:"config_timestamp"`
}

type configAPI struct {
	RevisionWeb    int `json:"revision_web"`
	RevisionMobile int `json:"revision_mobile"`
}

type configChannel struct {
	ID       string `json:"id"`
	PublicID string `json:"public_id,omitempty"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Type     string `json:"type"`
}

type configChannels struct {
	Private *configChannel `json:"private,omitempty"`
	Shared  *configChannel `json:"shared,omitempty"`
}

type configAnswer struct {
	Server         configServer    `json:"server"`
	API            configAPI       `json:"api"`
	Channels       configChannels  `json:"channels"`
	PublicChannels json.RawMessage `json:"publicChannels"`
	ClientID       string          `json:"clientId,omitempty"`
	JWT            string          `json:"jwt,omitempty"`
	Exp            int64           `json:"exp,omitempty"`
	ServerTime     string          `json:"serverTime"`
}

// pushPaths returns the subscription, publication paths the config names: /bitrix/… in personal mode,
// the cloud server's /subws/ and /rest/ in shared mode (both served by the push listener).
func (s *Server) pushPaths() (sub, ws, pub string) {
	if s.opts.Mode == ModeShared {
		return "/subws/", "/subws/", "/rest/"
	}
	return "/bitrix/sub/", "/bitrix/subws/", "/bitrix/rest/"
}

// buildConfig answers pull.application.config.get (app true: the app's channels, typed with its
// client_id) or pull.config.get (the portal's own channels) for user. Expired channels rotate first,
// with channel_expire to the old ones.
func (s *Server) buildConfig(user int, app bool) configAnswer {
	now := s.now()
	sub, ws, pub := s.pushPaths()
	host := strings.TrimPrefix(s.pushURL, "http://")
	v := s.opts.Version
	answer := configAnswer{
		Server: configServer{
			Version:       v,
			ServerEnabled: true,
			Mode:          s.opts.Mode,
			// The stand-in serves plain HTTP only, so the _secure URLs are the plain ones: a page
			// served over http (every test page) uses the plain keys anyway.
			LongPolling:       "http://" + host + sub,
			LongPoolingSecure: "http://" + host + sub,
			WebsocketEnabled:  true,
			Websocket:         "ws://" + host + ws,
			WebsocketSecure:   "ws://" + host + ws,
			PublishEnabled:    v > 3 && !(v == 4 && s.opts.PublishDisabled),
			Publish:           "http://" + host + pub,
			PublishSecure:     "http://" + host + pub,
		},
		API:            configAPI{RevisionWeb: revisionWeb, RevisionMobile: revisionMobile},
		PublicChannels: json.RawMessage("false"),
		ServerTime:     isoTime(now),
	}
	if s.opts.Mode == ModeShared {
		answer.ClientID = s.clientID
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	answer.Server.ConfigTimestamp = s.portal.configStamp
	var private, shared *channelRec
	if app {
		private, shared = s.appPrivateLocked(user, now), s.appSharedLocked(now)
	} else {
		private, shared = s.portalPrivateLocked(user, now), s.portalSharedLocked(now)
	}
	if s.opts.Trace != nil {
		s.opts.Trace("config", []string{s.privateTarget(private), shared.priv}, "", nil)
	}
	answer.Channels.Shared = &configChannel{
		ID: s.signedID(shared), Start: isoTime(shared.start), End: isoTime(shared.end), Type: "shared",
	}
	if v < 5 {
		answer.Channels.Private = &configChannel{
			ID: s.signedID(private), PublicID: s.signedPublicID(private),
			Start: isoTime(private.start), End: isoTime(private.end), Type: "private",
		}
	}
	if v >= 4 {
		entry := s.publicEntryLocked(user, false, now)
		answer.PublicChannels = marshalJSON(map[string]publicEntry{strconv.Itoa(user): entry})
	}
	if v >= 5 {
		iat := now.Unix()
		exp := now.Add(jwtLifetime(s.opts.ChannelLifetime, s.opts.TokenLifetime)).Unix()
		if exp <= iat {
			exp = iat + 1
		}
		answer.JWT = encodeJWT(jwtClaims{
			Iss: s.hostID, Iat: iat, Exp: exp, Sub: strconv.Itoa(user), Chan: shared.priv,
		}, s.opts.SignatureKey)
		answer.Exp = exp
	}
	return answer
}
