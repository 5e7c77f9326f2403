package standin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// jwtClaims are the claims the portal puts in a version 5 token, in the portal's order
// (docs/protocol.md §3.4).
type jwtClaims struct {
	Iss  string `json:"iss"`
	Iat  int64  `json:"iat"`
	Exp  int64  `json:"exp"`
	Sub  string `json:"sub,omitempty"`
	Chan string `json:"chan"`
}

var (
	errJWTMalformed = errors.New("malformed token")
	errJWTSignature = errors.New("wrong token signature")
	errJWTExpired   = errors.New("token expired")
)

const jwtHeader = `{"typ":"JWT","alg":"HS256"}`

// encodeJWT signs claims with HS256 under key.
func encodeJWT(c jwtClaims, key string) string {
	payload, _ := json.Marshal(c)
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(jwtHeader)) + "." + enc.EncodeToString(payload)
	return head + "." + enc.EncodeToString(hs256(key, head))
}

// decodeJWT verifies an HS256 token under key and its expiry against now.
func decodeJWT(token, key string, now time.Time) (jwtClaims, error) {
	var c jwtClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errJWTMalformed
	}
	enc := base64.RawURLEncoding
	head, err := enc.DecodeString(parts[0])
	if err != nil {
		return c, errJWTMalformed
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(head, &h) != nil || h.Alg != "HS256" {
		return c, errJWTMalformed
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, hs256(key, parts[0]+"."+parts[1])) {
		return c, errJWTSignature
	}
	payload, err := enc.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, errJWTMalformed
	}
	if c.Exp <= now.Unix() {
		return c, errJWTExpired
	}
	return c, nil
}

// userID returns the sub claim as a user id; 0 when absent or not a positive integer.
func (c jwtClaims) userID() int {
	n, err := strconv.Atoi(c.Sub)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// channels returns the raw channel ids of the chan claim.
func (c jwtClaims) channels() []string {
	if c.Chan == "" {
		return nil
	}
	return strings.Split(c.Chan, ",")
}

func hs256(key, data string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(data))
	return m.Sum(nil)
}
