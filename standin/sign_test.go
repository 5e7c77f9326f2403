//go:build !js

package standin

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignVectors checks the docs/protocol.md §3.2 test vectors.
func TestSignVectors(t *testing.T) {
	t.Parallel()
	const key = "demo-signature-key"
	for _, tc := range []struct{ in, want string }{
		{"a1b2c3d4e5f60718293a4b5c6d7e8f90", "9803993d09261023ded417a4f054ab294318606a"},
		{"a1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0", "58ed701edf98cdbba959bbf4d595a03e19fd8562"},
		{"5d41402abc4b2a76b9719d911017c592", "0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e"},
		{"public:0f1e2d3c4b5a69788796a5b4c3d2e1f0", "38cdc8da33eb1639e59ace48b468e17fe48b8746"},
		{"public:9e107d9d372bb6826bd81d3542a419d6", "5556aaa079ea8105050d4d68b5f921968c8e53a2"},
	} {
		assert.Equal(t, tc.want, sign(key, tc.in), tc.in)
	}
	assert.Equal(t, "", sign("", "x"), "no key, no signature")
}

func TestParseChannelIDs(t *testing.T) {
	t.Parallel()
	const key = "demo-signature-key"
	const (
		priv   = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
		pub    = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
		shared = "5d41402abc4b2a76b9719d911017c592"
	)
	privV4 := priv + ":" + pub + ".58ed701edf98cdbba959bbf4d595a03e19fd8562"
	privV3 := priv + ".9803993d09261023ded417a4f054ab294318606a"
	sharedID := shared + ".0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e"
	badSig := shared + ".0aa6e01c7a6af0e1dd6efa9234dc22982d98a43f"
	for _, tc := range []struct {
		name    string
		value   string
		version int
		trusted bool
		want    []channelRef
	}{
		{"v4 private and shared", privV4 + "/" + sharedID, 4, false, []channelRef{{priv, pub}, {shared, ""}}},
		{"v4 shared only", sharedID, 4, false, []channelRef{{shared, ""}}},
		{"v4 one bad signature rejects all", privV4 + "/" + badSig, 4, false, nil},
		{"v4 unsigned refused", shared, 4, false, nil},
		{"v4 unsigned trusted", shared, 4, true, []channelRef{{shared, ""}}},
		{"v4 public part needs signature even trusted", priv + ":" + pub, 4, true, nil},
		{"v4 empty segment", sharedID + "/", 4, false, nil},
		{"v4 upper case", strings.ToUpper(shared) + ".0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e", 4, false, nil},
		{"v4 short signature", shared + ".0aa6e01c", 4, false, nil},
		{"empty", "", 4, false, nil},
		{"v3 private signed over the id", privV3 + "/" + sharedID, 3, false, []channelRef{{priv, ""}, {shared, ""}}},
		{"v3 public part refused", privV4, 3, false, nil},
		{"v3 bad signature", badSig, 3, false, nil},
		{"v3 unsigned refused", shared, 3, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseChannelIDs(tc.value, tc.version, key, tc.trusted)
			assert.Equal(t, tc.want != nil, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParsePublicChannel(t *testing.T) {
	t.Parallel()
	const key = "demo-signature-key"
	pub, ok := parsePublicChannel("9e107d9d372bb6826bd81d3542a419d6.5556aaa079ea8105050d4d68b5f921968c8e53a2", key)
	assert.True(t, ok)
	assert.Equal(t, "9e107d9d372bb6826bd81d3542a419d6", pub)
	_, ok = parsePublicChannel("9e107d9d372bb6826bd81d3542a419d6.5556aaa079ea8105050d4d68b5f921968c8e53a3", key)
	assert.False(t, ok)
	_, ok = parsePublicChannel("9e107d9d372bb6826bd81d3542a419d6", key)
	assert.False(t, ok)
}

func TestValidMID(t *testing.T) {
	t.Parallel()
	assert.True(t, validMID("17472078000000000000004711"))
	for _, bad := range []string{"", "1747207800000000000000471", "174720780000000000000047111", "1747207800000000000000471a", "a7f3c2"} {
		assert.False(t, validMID(bad), bad)
	}
}

func TestJWT(t *testing.T) {
	t.Parallel()
	now := time.Unix(1747207800, 0)
	claims := jwtClaims{Iss: "k2v9x0q7m4n1b8c5z3l6w0e2r4t7y9u1", Iat: now.Unix(), Exp: now.Unix() + 43200, Sub: "7",
		Chan: "5d41402abc4b2a76b9719d911017c592"}
	tok := encodeJWT(claims, "key")
	require.Len(t, strings.Split(tok, "."), 3)

	got, err := decodeJWT(tok, "key", now)
	require.NoError(t, err)
	assert.Equal(t, claims, got)
	assert.Equal(t, 7, got.userID())
	assert.Equal(t, []string{"5d41402abc4b2a76b9719d911017c592"}, got.channels())

	_, err = decodeJWT(tok, "other", now)
	assert.ErrorIs(t, err, errJWTSignature)
	_, err = decodeJWT(tok, "key", now.Add(43200*time.Second))
	assert.ErrorIs(t, err, errJWTExpired)
	for _, bad := range []string{"", "a.b", "a.b.c", tok + "x", "eyJhbGciOiJub25lIn0." + strings.Split(tok, ".")[1] + "."} {
		_, err = decodeJWT(bad, "key", now)
		assert.Error(t, err, bad)
	}
}
