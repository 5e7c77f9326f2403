package protocol

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// fixture reads a recorded frame from testdata/ps2.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "ps2", name))
	require.NoError(tb, err)
	return data
}

var midPattern = regexp.MustCompile(`^[0-9]{26}$`)

// demoExtra is the extra the recording's publisher put in every demo message.
const demoExtra = `{"server_time":"2026-11-24T03:00:00+00:00","server_time_unix":1795489200.25,` +
	`"server_name":"portal.example.test","revision_web":19,"revision_mobile":3}`

// fixtureCase describes what a recorded frame must decode to: the n param of each demo message
// (0 for the channel_expire system message) and the first mid.
type fixtureCase struct {
	file     string
	n        []int64
	firstMID string
}

// checkFixtureBatch checks the decoded messages of a recorded frame against its description.
func checkFixtureBatch(t *testing.T, tc fixtureCase, b Batch, wantSender bool) {
	t.Helper()
	require.Zero(t, b.Garbage)
	require.Len(t, b.Messages, len(tc.n))
	assert.Equal(t, tc.firstMID, b.Messages[0].MID)
	prev := ""
	for i, m := range b.Messages {
		assert.Regexp(t, midPattern, m.MID)
		assert.Greater(t, m.MID, prev, "mids increase")
		prev = m.MID
		assert.Equal(t, wantSender, m.Sender != nil)
		if wantSender {
			assert.Equal(t, Sender{Type: SenderBackend}, *m.Sender)
		}
		if tc.n[i] == 0 {
			checkChannelExpire(t, m)
			continue
		}
		assert.Equal(t, "application", m.ModuleID)
		assert.Equal(t, "demo", m.Command)
		assert.Equal(t, tc.n[i], gjson.GetBytes(m.Params, "n").Int())
		assert.Equal(t, "héllo ✓", gjson.GetBytes(m.Params, "text").String())
		assert.JSONEq(t, demoExtra, string(m.Extra))
	}
}

func checkChannelExpire(t *testing.T, m Message) {
	t.Helper()
	assert.Equal(t, "pull", m.ModuleID)
	assert.Equal(t, "channel_expire", m.Command)
	assert.Equal(t, "{}", string(m.Extra))
	p := gjson.ParseBytes(m.Params)
	assert.Equal(t, "reconnect", p.Get("action").String())
	assert.Equal(t, "shared", p.Get("channel.type").String())
	assert.Equal(t, "1db24af02f3b8367db3831d2f2cb22c2.885b27a8090371e00dd8520897afb78c37af1d82", p.Get("channel.id").String())
	assert.Equal(t, "ffffffffffffffffffffffffffffffff.f231f9b4a84e3ee57ab206acf67cd39ac734a404", p.Get("new_channel.id").String())
	assert.Equal(t, "2026-11-24T03:00:00+00:00", p.Get("new_channel.start").String())
	assert.Equal(t, "2026-11-24T15:00:05+00:00", p.Get("new_channel.end").String())
	assert.Equal(t, "shared", p.Get("new_channel.type").String())
}

// replayN is the n sequence of both replay frames: mids …1330 to …1342.
var replayN = []int64{2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0}

func TestDecodeTextFixtures(t *testing.T) {
	t.Parallel()
	tests := []fixtureCase{
		{"ws-text-1.txt", []int64{1}, "17954868390000000000001329"},
		{"ws-text-2.txt", []int64{2}, "17954868390000000000001330"},
		{"ws-text-3.txt", []int64{3, 4, 5, 6}, "17954868390000000000001331"},
		{"ws-text-4.txt", []int64{0}, "17954868390000000000001335"},
		{"ws-text-replay-1.txt", replayN, "17954868390000000000001330"},
		{"lp-text-200.txt", replayN, "17954868390000000000001330"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b := DecodeText(fixture(t, tc.file))
			checkFixtureBatch(t, tc, b, false)
		})
	}
}

func TestDecodeTextEnvelopeFields(t *testing.T) {
	t.Parallel()
	b := DecodeText(fixture(t, "ws-text-1.txt"))
	require.Len(t, b.Messages, 1)
	m := b.Messages[0]
	assert.Equal(t, "323", m.Tag)
	assert.Equal(t, "Tue, 24 Nov 2026 03:01:57 GMT", m.Time)
	assert.Nil(t, m.Sender)
	assert.Equal(t, `{"n":1,"text":"héllo ✓"}`, string(m.Params))
}

// envelopeOf reads the envelope fields of every piece of a recorded text frame.
func envelopesOf(t *testing.T, frame []byte) []TextEnvelope {
	t.Helper()
	var envs []TextEnvelope
	for _, piece := range strings.SplitAfter(string(frame), TextEnd) {
		if piece == "" {
			continue
		}
		body := strings.TrimSuffix(strings.TrimPrefix(piece, TextStart), TextEnd)
		require.True(t, gjson.Valid(body))
		e := gjson.Parse(body)
		envs = append(envs, TextEnvelope{
			ID:      e.Get("id").Int(),
			MID:     e.Get("mid").String(),
			Channel: e.Get("channel").String(),
			Tag:     e.Get("tag").String(),
			Time:    e.Get("time").String(),
			Text:    json.RawMessage(e.Get("text").Raw),
		})
	}
	return envs
}

func TestEncodeTextReproducesFixtures(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"ws-text-1.txt", "ws-text-2.txt", "ws-text-3.txt", "ws-text-4.txt", "ws-text-replay-1.txt", "lp-text-200.txt"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			want := fixture(t, file)
			envs := envelopesOf(t, want)
			var got []byte
			for _, env := range envs {
				got = append(got, EncodeText(env)...)
			}
			assert.Equal(t, string(want), string(got))
		})
	}
	assert.Len(t, envelopesOf(t, fixture(t, "ws-text-3.txt")), 4)
}

func TestEncodeText(t *testing.T) {
	t.Parallel()
	got := EncodeText(TextEnvelope{ID: 7, Channel: `a"b`, Tag: "1", Time: "t\n"})
	assert.Equal(t, `#!NGINXNMS!#{"id":7,"channel":"a\"b","tag":"1","time":"t\n","text":{}}#!NGINXNME!#`, string(got))
	b := DecodeText(EncodeText(TextEnvelope{ID: 1, MID: "x", Text: json.RawMessage(`{"module_id":"m","command":"c"}`)}))
	require.Len(t, b.Messages, 1)
	assert.Equal(t, Message{MID: "x", ModuleID: "m", Command: "c", Params: json.RawMessage("{}"), Extra: json.RawMessage("{}")}, b.Messages[0])
}

// piece wraps an envelope in the markers.
func piece(env string) string { return TextStart + env + TextEnd }

const goodEnvelope = `{"id":1,"mid":"11","tag":"2","time":"T","text":{"module_id":"im","command":"c","params":{"n":1}}}`

func TestDecodeTextRules(t *testing.T) {
	t.Parallel()
	good := piece(goodEnvelope)
	tests := []struct {
		name    string
		frame   string
		mids    []string
		garbage int
	}{
		{"empty frame", "", nil, 0},
		{"only whitespace", " \n\r\t", nil, 0},
		{"no markers", "hello", nil, 1},
		{"one", good, []string{"11"}, 0},
		{"nginx newlines between", good + "\n" + good + "\r\n", []string{"11", "11"}, 0},
		{"garbage between", good + "junk" + good + "more", []string{"11", "11"}, 2},
		{"garbage before", "x" + good, []string{"11"}, 1},
		{"newline inside a piece", piece("{\"id\":1,\n\"mid\":\"12\",\r\n\"text\":{\"module_id\":\"a\",\"command\":\"b\"}}\n"), []string{"12"}, 0},
		{"unterminated", good + TextStart + `{"id":2`, []string{"11"}, 1},
		{"end marker only", TextEnd, nil, 1},
		{"empty piece", piece("") + piece("  "), nil, 0},
		{"invalid json", piece(`{"id":`) + good, []string{"11"}, 1},
		{"not an object", piece(`[1]`) + good, []string{"11"}, 1},
		{"text missing", piece(`{"id":1,"mid":"3"}`), nil, 1},
		{"text not an object", piece(`{"id":1,"text":"hi"}`), nil, 1},
		{"module_id missing", piece(`{"id":1,"text":{"command":"c"}}`), nil, 1},
		{"module_id not a string", piece(`{"id":1,"text":{"module_id":7,"command":"c"}}`), nil, 1},
		{"command not a string", piece(`{"id":1,"text":{"module_id":"m","command":null}}`), nil, 1},
		{"params a string", piece(`{"id":1,"text":{"module_id":"m","command":"c","params":"x"}}`) + good, []string{"11"}, 1},
		{"params array", piece(`{"id":1,"text":{"module_id":"m","command":"c","params":[1]}}`), nil, 1},
		{"nginx ping with empty text", piece(`{"id":-1,"channel":"","tag":"","time":"Thu","eventid":"","text":}`) + good, []string{"11"}, 0},
		{"ping with empty string text", piece(`{"id":-1,"text":""}`), nil, 0},
		{"stray start marker resyncs", TextStart + "junk" + good, []string{"11"}, 1},
		{"stray start marker then bad piece", TextStart + "junk" + piece("{"), nil, 2},
		{"numeric mid and tag", piece(`{"id":1,"mid":42,"tag":7,"text":{"module_id":"m","command":"c"}}`), []string{"42"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := DecodeText([]byte(tt.frame))
			assert.Equal(t, tt.garbage, b.Garbage, "garbage")
			var mids []string
			for _, m := range b.Messages {
				mids = append(mids, m.MID)
				assert.True(t, gjson.ValidBytes(m.Params) && gjson.ParseBytes(m.Params).IsObject())
				assert.True(t, gjson.ValidBytes(m.Extra) && gjson.ParseBytes(m.Extra).IsObject())
			}
			assert.Equal(t, tt.mids, mids)
		})
	}
}

func TestDecodeTextBodyNormalisation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		env         string
		params      string
		extra       string
		tag, tmText string
	}{
		{"params [] and no extra", `{"id":1,"text":{"module_id":"m","command":"c","params":[]}}`, "{}", "{}", "", ""},
		{"params null", `{"id":1,"text":{"module_id":"m","command":"c","params":null}}`, "{}", "{}", "", ""},
		{"extra [] ", `{"id":1,"text":{"module_id":"m","command":"c","extra":[]}}`, "{}", "{}", "", ""},
		{"extra not an object", `{"id":1,"text":{"module_id":"m","command":"c","extra":"x"}}`, "{}", "{}", "", ""},
		{"envelope extra fallback", `{"id":1,"tag":"5","time":"T","extra":{"e":1},"text":{"module_id":"m","command":"c"}}`, "{}", `{"e":1}`, "5", "T"},
		{"text extra wins", `{"id":1,"extra":{"e":1},"text":{"module_id":"m","command":"c","extra":{"e":2}}}`, "{}", `{"e":2}`, "", ""},
		{"last duplicate key wins", `{"id":1,"text":{"module_id":"a","command":"c","module_id":"b","params":{"x":1},"params":{"y":2}}}`, `{"y":2}`, "{}", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := DecodeText([]byte(piece(tt.env)))
			require.Len(t, b.Messages, 1)
			m := b.Messages[0]
			assert.Equal(t, tt.params, string(m.Params))
			assert.Equal(t, tt.extra, string(m.Extra))
			assert.Equal(t, tt.tag, m.Tag)
			assert.Equal(t, tt.tmText, m.Time)
		})
	}
	b := DecodeText([]byte(piece(`{"id":1,"text":{"module_id":"a","command":"c","module_id":"b"}}`)))
	require.Len(t, b.Messages, 1)
	assert.Equal(t, "b", b.Messages[0].ModuleID)
}

func TestDecodeTextDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	frame := fixture(t, "ws-text-1.txt")
	b := DecodeText(frame)
	require.Len(t, b.Messages, 1)
	for i := range frame {
		frame[i] = 'x'
	}
	assert.Equal(t, `{"n":1,"text":"héllo ✓"}`, string(b.Messages[0].Params))
	assert.Equal(t, "17954868390000000000001329", b.Messages[0].MID)
}

func BenchmarkDecodeText(b *testing.B) {
	for _, file := range []string{"ws-text-3.txt", "ws-text-replay-1.txt"} {
		frame := fixture(b, file)
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if len(DecodeText(frame).Messages) == 0 {
					b.Fatal("no messages")
				}
			}
		})
	}
}
