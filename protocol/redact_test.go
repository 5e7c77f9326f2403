package protocol

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"channels", "wss://h/subws/?CHANNEL_ID=p%3Aq.s%2Fs.t&binaryMode=true&revision=19", "wss://h/subws/?CHANNEL_ID=***&binaryMode=true&revision=19"},
		{"token and clientId", "wss://h/?token=a.b.c&jsonRpc=true&clientId=lic&mid=42&revision=19", "wss://h/?token=***&jsonRpc=true&clientId=***&mid=42&revision=19"},
		{"case and encoded key", "https://h/rest/x.json?AUTH=abc&access%5Ftoken=def&Signature=ghi", "https://h/rest/x.json?AUTH=***&access%5Ftoken=***&Signature=***"},
		{"refresh ids", "https://h/?REFRESH_ID=r1&AUTH_ID=a1&refresh_token=r2", "https://h/?REFRESH_ID=***&AUTH_ID=***&refresh_token=***"},
		{"fragment", "https://h/cb#access_token=abc&state=1", "https://h/cb#access_token=***&state=1"},
		{"query and fragment", "https://h/?token=x#auth=y", "https://h/?token=***#auth=***"},
		{"hash before question mark", "https://h/#a?token=x", "https://h/#a?token=x"},
		{"password", "https://user:pass@h/p?q=1", "https://user:***@h/p?q=1"},
		{"user without password", "https://user@h/p", "https://user@h/p"},
		{"at in the path", "https://h/p@q", "https://h/p@q"},
		{"empty value left", "wss://h/?CHANNEL_ID=&x", "wss://h/?CHANNEL_ID=&x"},
		{"key without value", "wss://h/?token&x=1", "wss://h/?token&x=1"},
		{"bad escape in key", "wss://h/?%zz=1&token=t", "wss://h/?%zz=1&token=***"},
		{"no query", "wss://h/subws/", "wss://h/subws/"},
		{"not a URL", "hello world", "hello world"},
		{"bare query", "CHANNEL_ID=abc", "CHANNEL_ID=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, RedactURL(tt.in))
		})
	}
}

func TestRedactURLOfConnectionURLs(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"v4_personal_bare.json", "v4_shared.json", "v5_jwt.json", "v3_personal.json"} {
		c := mustParse(t, name)
		u, err := c.ConnectionURL(TransportWebSocket, true, Resume{MID: "17472078000000000000004711"})
		require.NoError(t, err)
		red := RedactURL(u)
		assertNoSecrets(t, red)
		assert.Contains(t, red, "mid=17472078000000000000004711", name)
		assert.Contains(t, red, "revision=19", name)
		assert.Equal(t, u, Redact(u, nil), "Redact without secrets changes nothing")
		assertNoSecrets(t, Redact(u, c.Secrets()))
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		secrets []string
		want    string
	}{
		{"none", "abc", nil, "abc"},
		{"empty text", "", []string{"x"}, ""},
		{"empty secret ignored", "abc", []string{""}, "abc"},
		{"longer than text", "abc", []string{"abcd"}, "abc"},
		{"every occurrence", "id=s3cr3t, again s3cr3t.", []string{"s3cr3t"}, "id=***, again ***."},
		{"adjacent occurrences merge", "xx s3s3 yy", []string{"s3"}, "xx *** yy"},
		{"overlapping secrets leave nothing", "abcdef", []string{"abc", "cdef"}, "***"},
		{"overlap, other order", "abcdef-", []string{"cdef", "abc"}, "***-"},
		{"self overlap", "aaaa", []string{"aa"}, "***"},
		{"longest first", "key=p:q.sig", []string{"q", "p:q.sig"}, "key=***"},
		{"not found", "nothing here", []string{"zzz"}, "nothing here"},
		{"multibyte", "é✓é", []string{"✓"}, "é***é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, Redact(tt.text, tt.secrets))
		})
	}
}

func TestRedactEncodedIDs(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "v4_personal_bare.json")
	u, err := c.ConnectionURL(TransportLongPolling, true, Resume{})
	require.NoError(t, err)
	require.Contains(t, u, "%3A", "the signed id appears only percent-encoded")
	got := Redact("connecting to "+u, c.Secrets())
	assertNoSecrets(t, got)
	assert.True(t, strings.HasPrefix(got, "connecting to https://portal.example.test/bitrix/sub/?CHANNEL_ID=***"), got)
	assert.True(t, strings.HasSuffix(got, "&binaryMode=true&revision=19"), got)
}
