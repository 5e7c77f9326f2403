package standin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"regexp"
	"strings"
)

// sign returns the lowercase hex HMAC-SHA1 of data under key (CPullChannel::SignChannel); "" without
// a key.
func sign(key, data string) string {
	if key == "" {
		return ""
	}
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(data))
	return hex.EncodeToString(m.Sum(nil))
}

// signRaw returns the raw HMAC-SHA1 bytes of data under key (the protobuf Receiver.signature).
func signRaw(key, data string) []byte {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signedEqual compares two hex signatures in constant time.
func signedEqual(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// newRawID returns a fresh raw channel id: 32 lowercase hex characters.
func newRawID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// publicSignature returns the signature of a public id: hmac("public:" + publicId).
func publicSignature(key, pub string) string {
	return sign(key, "public:"+pub)
}

// channelRef is one parsed part of CHANNEL_ID: the raw private (or shared) id and, for a
// "priv:pub.sig" part, the raw public id.
type channelRef struct {
	priv string
	pub  string
}

var (
	// channelGrammarV4 is Push server 2.0's grammar for one CHANNEL_ID part (sha1: 40 hex signature).
	channelGrammarV4 = regexp.MustCompile(`^([a-f0-9]{32})(?::([a-f0-9]{32}))?(?:\.([a-f0-9]{40}))?$`)
	// channelGrammarV3 is Push server 1.0's grammar: no public part, HMAC over the id.
	channelGrammarV3 = regexp.MustCompile(`^([a-zA-Z0-9]{32})(?:\.([a-zA-Z0-9]{40}))?$`)
	// publicChannelGrammar is "<publicId>.<signature>" as clients name public channels.
	publicChannelGrammar = regexp.MustCompile(`^([a-f0-9]{32})\.([a-f0-9]{40})$`)
	// midGrammar is the only mid the servers replay from.
	midGrammar = regexp.MustCompile(`^[0-9]{26}$`)
)

// parseChannelIDs parses a CHANNEL_ID value (parts joined by "/") with the grammar of the given server
// version and checks every signature. trusted is the backend publish route, where Push server 2.0
// accepts unsigned ids. One bad part rejects the whole list (ok false); an empty value is rejected.
func parseChannelIDs(value string, version int, key string, trusted bool) ([]channelRef, bool) {
	if value == "" {
		return nil, false
	}
	parts := strings.Split(value, "/")
	refs := make([]channelRef, 0, len(parts))
	for _, part := range parts {
		ref, ok := parseChannelPart(part, version, key, trusted)
		if !ok {
			return nil, false
		}
		refs = append(refs, ref)
	}
	return refs, true
}

// parseChannelPart checks one CHANNEL_ID part.
func parseChannelPart(part string, version int, key string, trusted bool) (channelRef, bool) {
	if version <= 3 {
		m := channelGrammarV3.FindStringSubmatch(part)
		if m == nil {
			return channelRef{}, false
		}
		if key != "" && !trusted && !signedEqual(m[2], sign(key, m[1])) {
			return channelRef{}, false
		}
		return channelRef{priv: m[1]}, true
	}
	m := channelGrammarV4.FindStringSubmatch(part)
	if m == nil {
		return channelRef{}, false
	}
	priv, pub, sig := m[1], m[2], m[3]
	if pub != "" {
		if key == "" || !signedEqual(sig, sign(key, priv+":"+pub)) {
			return channelRef{}, false
		}
		return channelRef{priv: priv, pub: pub}, true
	}
	if key != "" && !trusted && !signedEqual(sig, sign(key, priv)) {
		return channelRef{}, false
	}
	return channelRef{priv: priv}, true
}

// parsePublicChannel checks "<publicId>.<signature>" and returns the raw public id.
func parsePublicChannel(s, key string) (string, bool) {
	m := publicChannelGrammar.FindStringSubmatch(s)
	if m == nil || !signedEqual(m[2], publicSignature(key, m[1])) {
		return "", false
	}
	return m[1], true
}

// validMID reports whether mid is one the servers replay from.
func validMID(mid string) bool {
	return midGrammar.MatchString(mid)
}
