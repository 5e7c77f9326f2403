package protocol

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// The legacy text framing of nginx-push-stream, Push server 1.0 and Push server 2.0 without binary mode
// (docs/protocol.md §6.2): every message is a JSON envelope between a start and an end marker, several
// of them back to back in one frame or long-polling body (nginx puts a newline between them).
const (
	TextStart = "#!NGINXNMS!#"
	TextEnd   = "#!NGINXNME!#"
)

// DecodeText decodes one text frame (or long-polling body) into a Batch.
//
// Every TextStart…TextEnd pair is taken, non-greedily, raw newlines included (the reference clients
// drop such messages). Each envelope gives MID, Tag and Time; its text gives ModuleID, Command, Params
// and Extra (docs/protocol.md §7), Extra falling back to an envelope-level extra when the text has none.
// Sender is nil.
//
// Garbage counts: an envelope that is not valid JSON or whose text is not a valid message body; each
// run of non-whitespace bytes outside the pairs; an unterminated start marker (everything after it is
// dropped). When a piece fails to parse and holds another start marker, decoding resumes at the last
// one, so a stray marker costs one piece, not the message behind it. Whitespace between pairs, empty
// pieces and nginx keep-alive envelopes (id -1 or an empty text, which nginx renders as "text":}) are
// neither messages nor garbage.
//
// Params and Extra of the result share one private copy of the frame; treat them as read-only.
func DecodeText(frame []byte) Batch {
	var out Batch
	if len(frame) == 0 {
		return out
	}
	a := newArena(frame)
	s := a.s
	for s != "" {
		i := strings.Index(s, TextStart)
		if i < 0 {
			countOutside(s, &out)
			break
		}
		countOutside(s[:i], &out)
		s = s[i+len(TextStart):]
		j := strings.Index(s, TextEnd)
		if j < 0 {
			out.Garbage++
			break
		}
		piece := s[:j]
		s = s[j+len(TextEnd):]
		if decodeEnvelope(&a, piece, &out) {
			continue
		}
		k := strings.LastIndex(piece, TextStart)
		if k < 0 {
			out.Garbage++
			continue
		}
		out.Garbage++
		if !decodeEnvelope(&a, piece[k+len(TextStart):], &out) {
			out.Garbage++
		}
	}
	return out
}

// countOutside counts a run of bytes found outside any pair as garbage unless it is only whitespace.
func countOutside(s string, out *Batch) {
	if trimSpace(s) != "" {
		out.Garbage++
	}
}

// decodeEnvelope appends the message of one piece to out and reports true, or reports false for a
// piece that is not a readable envelope. Keep-alive pieces report true and add nothing.
func decodeEnvelope(a *arena, piece string, out *Batch) bool {
	t := trimSpace(piece)
	if t == "" || strings.HasSuffix(t, `"text":}`) {
		return true
	}
	if !gjson.Valid(t) {
		return false
	}
	env := gjson.Parse(t)
	if !env.IsObject() {
		return false
	}
	var id, mid, tag, tm, text, extra gjson.Result
	env.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			id = v
		case "mid":
			mid = v
		case "tag":
			tag = v
		case "time":
			tm = v
		case "text":
			text = v
		case "extra":
			extra = v
		}
		return true
	})
	if id.Raw == "-1" && (!text.Exists() || text.Type == gjson.Null || (text.Type == gjson.String && text.Str == "")) {
		return true
	}
	var m Message
	if !readBodyValue(a, text, &m, extra) {
		return false
	}
	m.MID, m.Tag, m.Time = scalarString(mid), scalarString(tag), scalarString(tm)
	out.Messages = append(out.Messages, m)
	return true
}

// scalarString returns a string value, or the text of a number; "" for anything else.
func scalarString(v gjson.Result) string {
	switch v.Type {
	case gjson.String:
		return v.Str
	case gjson.Number:
		return v.Raw
	}
	return ""
}

// TextEnvelope is one legacy text message as a server writes it. Text is the message body
// (docs/protocol.md §7), inserted verbatim.
type TextEnvelope struct {
	ID      int64
	MID     string
	Channel string
	Tag     string
	Time    string
	Text    json.RawMessage
}

// EncodeText writes one envelope between the markers, fields in the order id, mid, channel, tag, time,
// text, as Push server 2.0 does; mid is left out when empty (nginx has none) and an empty Text is
// written as {}. Strings are escaped minimally (non-ASCII written as is) and Text is never re-encoded,
// so a recorded frame is reproduced byte for byte. Concatenate several results for a coalesced frame.
func EncodeText(env TextEnvelope) []byte {
	text := env.Text
	if len(text) == 0 {
		text = emptyObject()
	}
	b := make([]byte, 0, len(TextStart)+len(TextEnd)+80+len(env.MID)+len(env.Channel)+len(env.Tag)+
		len(env.Time)+len(text))
	b = append(b, TextStart...)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, env.ID, 10)
	if env.MID != "" {
		b = append(b, `,"mid":`...)
		b = AppendJSONString(b, env.MID)
	}
	b = append(b, `,"channel":`...)
	b = AppendJSONString(b, env.Channel)
	b = append(b, `,"tag":`...)
	b = AppendJSONString(b, env.Tag)
	b = append(b, `,"time":`...)
	b = AppendJSONString(b, env.Time)
	b = append(b, `,"text":`...)
	b = append(b, text...)
	b = append(b, '}')
	return append(b, TextEnd...)
}
