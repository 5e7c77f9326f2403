package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestNormalizeObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{"empty", "", "{}", true},
		{"whitespace", " \n\t", "{}", true},
		{"null", "null", "{}", true},
		{"empty array", "[]", "{}", true},
		{"empty array with spaces", " [ \n ] ", "{}", true},
		{"object", `{"a":1}`, `{"a":1}`, true},
		{"object kept as is", ` { "a" : [1, 2] } `, `{ "a" : [1, 2] }`, true},
		{"empty object", "{}", "{}", true},
		{"array", "[1]", "", false},
		{"string", `"x"`, "", false},
		{"number", "7", "", false},
		{"true", "true", "", false},
		{"invalid", `{"a":`, "", false},
		{"invalid trailing", `{} x`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeObject([]byte(tt.in))
			require.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestMergeObjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		base     string
		overlays []string
		want     string
	}{
		{"no overlays", `{"a":1}`, nil, `{"a":1}`},
		{"empty overlays keep base as is", `{ "a" : 1 }`, []string{"", "{}", "null", "[]", " { } "}, `{ "a" : 1 }`},
		{"non-object overlays ignored", `{"a":1}`, []string{`[1]`, `"x"`, `7`, `{"b":`}, `{"a":1}`},
		{"empty base without overlays", ``, nil, `{}`},
		{"[] base without overlays", `[]`, []string{"{}"}, `{}`},
		{"broken [ base without overlays is returned as is", `[`, nil, `[`},
		{"broken [1 base without overlays is returned as is", ` [1 `, nil, ` [1 `},
		{"[] base with overlay", `[]`, []string{`{"b":2}`}, `{"b":2}`},
		{"invalid base counts as empty", `{"a":`, []string{`{"b":2}`}, `{"b":2}`},
		{"append new keys", `{"a":1}`, []string{`{"b":2,"c":3}`}, `{"a":1,"b":2,"c":3}`},
		{"later wins in place", `{"a":1,"b":2}`, []string{`{"a":10}`, `{"a":100,"c":3}`}, `{"a":100,"b":2,"c":3}`},
		{"nested values kept", `{"a":{"x":[1,{"y":"}"}]}}`, []string{`{"b":{"z":"{"},"a":[{}]}`}, `{"a":[{}],"b":{"z":"{"}}`},
		{"unicode and escapes", `{"t":"héllo ✓"}`, []string{`{"u":"\"q\" \\ \u00e9 \n","v":"✓"}`}, `{"t":"héllo ✓","u":"\"q\" \\ \u00e9 \n","v":"✓"}`},
		{"escaped key equals plain key", `{"a":1}`, []string{`{"\u0061":2}`}, `{"a":2}`},
		{"duplicate base keys collapse", `{"a":1,"a":2}`, []string{`{"b":3}`}, `{"a":2,"b":3}`},
		{"whitespace overlay", `{"a":1}`, []string{" {\n \"b\" : true \n} "}, `{"a":1,"b":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			overlays := make([]json.RawMessage, len(tt.overlays))
			for i, o := range tt.overlays {
				overlays[i] = json.RawMessage(o)
			}
			got := MergeObjects(json.RawMessage(tt.base), overlays...)
			assert.Equal(t, tt.want, string(got))
			if gjson.Valid(tt.base) || len(tt.overlays) > 0 {
				assert.True(t, gjson.ValidBytes(got), "result is valid JSON")
			}
		})
	}
}

func TestMergeObjectsManyKeys(t *testing.T) {
	t.Parallel()
	var base, over, want strings.Builder
	base.WriteString("{")
	over.WriteString("{")
	want.WriteString("{")
	for i := 0; i < 40; i++ {
		if i > 0 {
			base.WriteString(",")
			over.WriteString(",")
			want.WriteString(",")
		}
		fmt.Fprintf(&base, `"k%d":%d`, i, i)
		fmt.Fprintf(&over, `"k%d":%d`, 39-i, -i)
		fmt.Fprintf(&want, `"k%d":%d`, i, i-39)
	}
	for i := 40; i < 45; i++ {
		fmt.Fprintf(&over, `,"k%d":%d`, i, i)
		fmt.Fprintf(&want, `,"k%d":%d`, i, i)
	}
	base.WriteString("}")
	over.WriteString("}")
	want.WriteString("}")
	got := MergeObjects(json.RawMessage(base.String()), json.RawMessage(over.String()))
	assert.Equal(t, want.String(), string(got))
}

func TestMergeObjectsReturnsBaseUncopied(t *testing.T) {
	t.Parallel()
	base := json.RawMessage(`{"a":1}`)
	got := MergeObjects(base, json.RawMessage(`{}`))
	require.Len(t, got, len(base))
	assert.Same(t, &base[0], &got[0])
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"plain", `"plain"`},
		{"héllo ✓ <&>", `"héllo ✓ <&>"`},
		{"q\"b\\", `"q\"b\\"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"", `""`},
	}
	for _, tt := range tests {
		got := AppendJSONString(nil, tt.in)
		assert.Equal(t, tt.want, string(got))
		var back string
		require.NoError(t, json.Unmarshal(got, &back))
		assert.Equal(t, strings.ToValidUTF8(tt.in, "\ufffd"), back)
	}
}

func TestArenaRawOutside(t *testing.T) {
	t.Parallel()
	a := newArena([]byte(`{"a":1}`))
	outside := string([]byte(`{"b":2}`))
	got := a.raw(outside)
	assert.Equal(t, outside, string(got))
	assert.Nil(t, a.raw(""))
	empty := newArena(nil)
	assert.Equal(t, "x", string(empty.raw("x")))
}
