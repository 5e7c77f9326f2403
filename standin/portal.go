package standin

import (
	"strconv"
	"time"
)

// token is one access token the portal knows.
type token struct {
	user    int
	admin   bool
	webhook bool // a webhook code: user auth, not app auth
	expired bool
}

// channelRec is one channel row of the portal (b_pull_channel): a raw id, for private channels a paired
// public id, its lifetime, its owner (0 for shared channels) and its DB type (an app's client_id,
// "private" or "shared").
type channelRec struct {
	priv  string
	pub   string
	start time.Time
	end   time.Time
	user  int
	kind  string
}

// shared reports whether rec is a shared channel (user 0, no public id).
func (rec *channelRec) shared() bool { return rec.user == 0 }

// portalState is what the portal keeps between calls. Guarded by Server.mu.
type portalState struct {
	tokens        map[string]*token
	webhook       string
	appPrivate    map[int]*channelRec
	appShared     *channelRec
	portalPrivate map[int]*channelRec
	portalShared  *channelRec
	// retired holds every raw id rotated away: the push server refuses them.
	retired map[string]struct{}
	// owners maps the raw private and public ids of every private channel ever issued to its user.
	owners map[string]owner

	configStamp    int64
	pushConfigured bool
	failCode       string
	failTimes      int
	pageStatus     int // FailRESTWithPage: the HTTP status of the error page
	pageTimes      int // FailRESTWithPage: how many calls are left to answer with it
	reject4010     bool
}

// owner tells whose private channel a raw id belongs to and whether it is an app channel.
type owner struct {
	user int
	app  bool
}

func (p *portalState) init(start time.Time) {
	p.tokens = map[string]*token{}
	p.appPrivate = map[int]*channelRec{}
	p.portalPrivate = map[int]*channelRec{}
	p.retired = map[string]struct{}{}
	p.owners = map[string]owner{}
	p.configStamp = start.Unix()
	p.pushConfigured = true
	p.webhook = randomHex(16)
	p.tokens[p.webhook] = &token{user: 1, admin: true, webhook: true}
}

// NewToken returns a fresh application access token (app auth) for userID; admin marks a portal
// administrator, who may publish to other users' channels.
func (s *Server) NewToken(userID int, admin bool) string {
	t := randomHex(24)
	s.mu.Lock()
	s.portal.tokens[t] = &token{user: userID, admin: admin}
	s.mu.Unlock()
	return t
}

// ExpireToken makes token answer 401 expired_token from now on. Unknown tokens are ignored.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	if t := s.portal.tokens[token]; t != nil {
		t.expired = true
	}
	s.mu.Unlock()
}

// WebhookToken returns a token that authenticates as an incoming webhook of user 1 (an administrator):
// REST methods that need app authorization refuse it with WRONG_AUTH_TYPE.
func (s *Server) WebhookToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.portal.webhook
}

// newChannelLocked creates a channel row starting now.
func (s *Server) newChannelLocked(user int, kind string, now time.Time) *channelRec {
	rec := &channelRec{priv: newRawID(), start: now, end: now.Add(s.opts.ChannelLifetime), user: user, kind: kind}
	if s.opts.Trace != nil {
		s.opts.Trace("channel", []string{rec.priv}, "", nil)
	}
	if user > 0 {
		rec.pub = newRawID()
		own := owner{user: user, app: kind == s.opts.AppClientID}
		s.portal.owners[rec.priv] = own
		s.portal.owners[rec.pub] = own
	}
	return rec
}

// expired reports whether the portal would rotate rec: DATE_CREATE + lifetime < now.
func (s *Server) expired(rec *channelRec, now time.Time) bool {
	return rec.start.Add(s.opts.ChannelLifetime).Before(now)
}

// rotateLocked replaces old by a new row of the same owner and type, retires the old ids and publishes
// channel_expire to the old channel. variant "portal" words the message as for the portal's own
// private/shared channels; anything else as the portal does for the row's real type.
func (s *Server) rotateLocked(old *channelRec, variant string, now time.Time) *channelRec {
	rec := s.newChannelLocked(old.user, old.kind, now)
	s.portal.retired[old.priv] = struct{}{}
	if old.pub != "" {
		s.portal.retired[old.pub] = struct{}{}
	}
	s.stats.rotations.Add(1)
	s.publishChannelExpireLocked(old, rec, variant, now)
	return rec
}

// appPrivateLocked returns the app's private channel of user, creating it, or rotating it when its
// lifetime has passed (CPullChannel::Get).
func (s *Server) appPrivateLocked(user int, now time.Time) *channelRec {
	rec := s.portal.appPrivate[user]
	switch {
	case rec == nil:
		rec = s.newChannelLocked(user, s.opts.AppClientID, now)
	case s.expired(rec, now):
		rec = s.rotateLocked(rec, "", now)
	default:
		return rec
	}
	s.portal.appPrivate[user] = rec
	return rec
}

// appSharedLocked returns the app's shared channel, creating or rotating it as needed.
func (s *Server) appSharedLocked(now time.Time) *channelRec {
	rec := s.portal.appShared
	switch {
	case rec == nil:
		rec = s.newChannelLocked(0, s.opts.AppClientID, now)
	case s.expired(rec, now):
		rec = s.rotateLocked(rec, "", now)
	default:
		return rec
	}
	s.portal.appShared = rec
	return rec
}

// portalPrivateLocked returns the user's portal private channel (the one publicChannels describes).
func (s *Server) portalPrivateLocked(user int, now time.Time) *channelRec {
	rec := s.portal.portalPrivate[user]
	switch {
	case rec == nil:
		rec = s.newChannelLocked(user, "private", now)
	case s.expired(rec, now):
		rec = s.rotateLocked(rec, "", now)
	default:
		return rec
	}
	s.portal.portalPrivate[user] = rec
	return rec
}

// portalSharedLocked returns the portal's default shared channel.
func (s *Server) portalSharedLocked(now time.Time) *channelRec {
	rec := s.portal.portalShared
	switch {
	case rec == nil:
		rec = s.newChannelLocked(0, "shared", now)
	case s.expired(rec, now):
		rec = s.rotateLocked(rec, "", now)
	default:
		return rec
	}
	s.portal.portalShared = rec
	return rec
}

// signedID returns the id a client connects with: "<id>.<sig>" for shared channels and, up to
// version 3, for private ones; "<priv>:<pub>.<sig>" for private channels from version 4 on.
func (s *Server) signedID(rec *channelRec) string {
	key := s.opts.SignatureKey
	if rec.shared() || s.opts.Version <= 3 {
		return rec.priv + "." + sign(key, rec.priv)
	}
	id := rec.priv + ":" + rec.pub
	return id + "." + sign(key, id)
}

// signedPublicID returns "<publicId>.<hmac('public:'+publicId)>".
func (s *Server) signedPublicID(rec *channelRec) string {
	return rec.pub + "." + publicSignature(s.opts.SignatureKey, rec.pub)
}

// privateTarget returns the push-server key a private channel's messages go to: its raw id, or from
// version 5 on, where the app's JWT names the user instead of a private channel, the user's key. The
// portal's own private channel keeps its raw id there, so its system messages never reach the app's
// connection (app connections see only app channels, docs/protocol.md §2.4).
func (s *Server) privateTarget(rec *channelRec) string {
	if s.opts.Version >= 5 && rec.kind == s.opts.AppClientID {
		return userKey(rec.user)
	}
	return rec.priv
}

// userKey is the push-server key of a version 5 user target.
func userKey(user int) string {
	return "user:" + strconv.Itoa(user)
}

// isoTime formats t as PHP's date('c').
func isoTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05-07:00")
}
