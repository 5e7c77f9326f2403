package standin

import (
	"encoding/hex"
	"net/http"
	"regexp"
)

// subscription is what a connection URL asks for, checked.
type subscription struct {
	mode wireMode
	// keys are the push-server keys the connection listens on: raw private, public and shared ids,
	// and for version 5 the user key.
	keys []string
	// senderID is the connection's first public id (raw bytes): the sender of what it publishes.
	senderID []byte
	// hasPrivPub tells whether a "priv:pub" channel was given (client publishing needs one).
	hasPrivPub bool
	// user is the owner of the connection's private channel or the JWT's sub; 0 when unknown.
	user int
	// mid is the resume point when the URL carried a valid one.
	mid string
}

var rawIDGrammar = regexp.MustCompile(`^[a-f0-9]{32}$`)

// parseSubscription checks a subscription URL the way the push server of the configured version does:
// clientId in shared mode, then CHANNEL_ID (versions 3–4) or the JWT (version 5). Ids the portal has
// rotated away are refused like badly signed ones.
func (s *Server) parseSubscription(r *http.Request) (*subscription, *pushError) {
	q := r.URL.Query()
	v := s.opts.Version
	if s.opts.Mode == ModeShared {
		switch cid := q.Get("clientId"); {
		case cid == "":
			return nil, errClientIDRequired
		case !signedEqual(cid, s.clientID):
			return nil, errWrongClientID
		}
	}
	sub := &subscription{}
	if mid := q.Get("mid"); validMID(mid) {
		sub.mid = mid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v >= 5 {
		claims, err := decodeJWT(q.Get("token"), s.opts.SignatureKey, s.now())
		if err != nil {
			return nil, errWrongChannel
		}
		for _, id := range claims.channels() {
			if !rawIDGrammar.MatchString(id) || s.retiredLocked(id) {
				return nil, errWrongChannel
			}
			sub.keys = append(sub.keys, id)
		}
		sub.mode = wireRPC
		if u := claims.userID(); u > 0 {
			sub.user = u
			sub.keys = append(sub.keys, userKey(u))
			if rec := s.portal.appPrivate[u]; rec != nil {
				sub.senderID, _ = hex.DecodeString(rec.pub)
			}
		}
		if len(sub.keys) == 0 {
			return nil, errWrongChannel
		}
		return sub, nil
	}
	value := q.Get("CHANNEL_ID")
	refs, ok := parseChannelIDs(value, v, s.opts.SignatureKey, false)
	if !ok {
		switch {
		case v > 3:
			return nil, errWrongChannel
		case value == "":
			return nil, errV3NoChannel
		default:
			return nil, errV3BadChannel
		}
	}
	for _, ref := range refs {
		if s.retiredLocked(ref.priv) || (ref.pub != "" && s.retiredLocked(ref.pub)) {
			if v > 3 {
				return nil, errWrongChannel
			}
			return nil, errV3BadChannel
		}
		sub.keys = append(sub.keys, ref.priv)
		if ref.pub != "" {
			sub.keys = append(sub.keys, ref.pub)
			if !sub.hasPrivPub {
				sub.hasPrivPub = true
				sub.senderID, _ = hex.DecodeString(ref.pub)
			}
		}
		if own, ok := s.portal.owners[ref.priv]; ok && sub.user == 0 {
			sub.user = own.user
		}
	}
	if v == 4 && q.Get("binaryMode") == "true" {
		sub.mode = wireBinary
	}
	return sub, nil
}

// retiredLocked reports whether the portal rotated id away and the push server refuses it.
func (s *Server) retiredLocked(id string) bool {
	if s.opts.AcceptRetired {
		return false
	}
	_, ok := s.portal.retired[id]
	return ok
}
