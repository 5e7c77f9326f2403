package protocol

import (
	"encoding/json"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// NormalizeObject returns raw as the text of a JSON object: surrounding whitespace is trimmed, and a
// missing or empty value, JSON null and an empty array ([], what PHP writes for an empty object) all
// become {}. It reports false when raw is not valid JSON or is any other kind of value. An object is
// returned as is (it shares memory with raw).
func NormalizeObject(raw []byte) (json.RawMessage, bool) {
	s := trimSpace(unsafe.String(unsafe.SliceData(raw), len(raw)))
	if s == "" {
		return emptyObject(), true
	}
	if !gjson.Valid(s) {
		return nil, false
	}
	switch objectKind(s) {
	case kindObject:
		t := trimLeft(raw)
		return json.RawMessage(t[:len(s):len(s)]), true
	case kindEmpty:
		return emptyObject(), true
	}
	return nil, false
}

// MergeObjects shallow-merges overlays into base, the way the reference clients merge JSON-RPC
// user_params and dictionary into params: later keys win, base keys keep their place and new keys are
// appended in the order they first appear. Overlays that are not JSON objects are ignored; a base that
// is not an object counts as {}. When no overlay has a key, base is returned as is ({} when it is
// empty, null or []), without being copied or validated. The result is always a JSON object when base
// is valid JSON.
func MergeObjects(base json.RawMessage, overlays ...json.RawMessage) json.RawMessage {
	active := false
	for _, o := range overlays {
		if hasKeys(o) {
			active = true
			break
		}
	}
	baseText := trimSpace(unsafe.String(unsafe.SliceData(base), len(base)))
	if !active {
		if objectKind(baseText) == kindEmpty {
			return emptyObject()
		}
		return base
	}

	var m merger
	if gjson.Valid(baseText) && objectKind(baseText) == kindObject {
		m.add(baseText)
	}
	for _, o := range overlays {
		if hasKeys(o) {
			m.add(unsafe.String(unsafe.SliceData(o), len(o)))
		}
	}
	return m.bytes()
}

// merger collects the members of the objects being merged.
type merger struct {
	members []member
	index   map[string]int
	size    int
}

type member struct {
	key      string // decoded key
	rawKey   string // the key as written, quotes included
	rawValue string
}

// add merges the members of obj, which must be a valid JSON object.
func (m *merger) add(obj string) {
	gjson.Parse(obj).ForEach(func(k, v gjson.Result) bool {
		if i, ok := m.find(k.Str); ok {
			m.size += len(v.Raw) - len(m.members[i].rawValue)
			m.members[i].rawValue = v.Raw
			return true
		}
		m.members = append(m.members, member{key: k.Str, rawKey: k.Raw, rawValue: v.Raw})
		m.size += len(k.Raw) + len(v.Raw) + 2
		if m.index != nil {
			m.index[k.Str] = len(m.members) - 1
		} else if len(m.members) > 16 {
			m.index = make(map[string]int, 2*len(m.members))
			for i, mm := range m.members {
				m.index[mm.key] = i
			}
		}
		return true
	})
}

func (m *merger) find(key string) (int, bool) {
	if m.index != nil {
		i, ok := m.index[key]
		return i, ok
	}
	for i := range m.members {
		if m.members[i].key == key {
			return i, true
		}
	}
	return 0, false
}

func (m *merger) bytes() json.RawMessage {
	out := make([]byte, 0, m.size+2)
	out = append(out, '{')
	for i, mm := range m.members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, mm.rawKey...)
		out = append(out, ':')
		out = append(out, mm.rawValue...)
	}
	return append(out, '}')
}

// hasKeys reports whether raw is a valid JSON object with at least one member.
func hasKeys(raw json.RawMessage) bool {
	s := trimSpace(unsafe.String(unsafe.SliceData(raw), len(raw)))
	if len(s) < 2 || s[0] != '{' || trimSpace(s[1:len(s)-1]) == "" {
		return false
	}
	return gjson.Valid(s)
}

type valueKind int

const (
	kindOther  valueKind = iota
	kindObject           // starts with {
	kindEmpty            // empty text, null or an empty array
)

// objectKind classifies a trimmed JSON value by its first bytes; it does not validate.
func objectKind(s string) valueKind {
	switch {
	case s == "" || s == "null":
		return kindEmpty
	case s[0] == '{':
		return kindObject
	case len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && trimSpace(s[1:len(s)-1]) == "":
		return kindEmpty
	}
	return kindOther
}

func emptyObject() json.RawMessage { return json.RawMessage{'{', '}'} }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

// arena is a private copy of one frame, seen both as bytes and as a string, so that values found by
// gjson in the string can be handed out as json.RawMessage without copying each of them.
type arena struct {
	b []byte
	s string
}

func newArena(frame []byte) arena {
	b := make([]byte, len(frame))
	copy(b, frame)
	return arena{b: b, s: unsafe.String(unsafe.SliceData(b), len(b))}
}

// str returns the string view of sub, a slice of a.b.
func (a *arena) str(sub []byte) string {
	return unsafe.String(unsafe.SliceData(sub), len(sub))
}

// raw returns sub as bytes: a capped slice of the arena when sub lies inside it, a copy otherwise.
func (a *arena) raw(sub string) json.RawMessage {
	if sub == "" {
		return nil
	}
	if a.s != "" {
		base := uintptr(unsafe.Pointer(unsafe.StringData(a.s)))
		p := uintptr(unsafe.Pointer(unsafe.StringData(sub)))
		if p >= base && p-base+uintptr(len(sub)) <= uintptr(len(a.s)) {
			off := int(p - base)
			return a.b[off : off+len(sub) : off+len(sub)]
		}
	}
	return json.RawMessage(sub)
}

// object returns a value of a message body as object text; ok is false when it is not an object
// (missing, null and [] give {}).
func (a *arena) object(v gjson.Result) (json.RawMessage, bool) {
	switch objectKind(v.Raw) {
	case kindObject:
		return a.raw(v.Raw), true
	case kindEmpty:
		return emptyObject(), true
	}
	return nil, false
}

// readBody fills ModuleID, Command, Params and Extra of m from a message body (docs/protocol.md §7), the
// text of body being inside the arena. It reports false for a body that is not valid JSON, not an
// object, lacks the module_id or command strings, or has params that are not an object. An extra that is
// not an object is read as {}. A repeated key counts with its last value, as JSON.parse does.
func readBody(a *arena, body string, m *Message) bool {
	if !gjson.Valid(body) {
		return false
	}
	return readBodyValue(a, gjson.Parse(body), m, gjson.Result{})
}

// readBodyValue is readBody for a body already validated as part of a larger document; fallbackExtra
// is used when the body has no extra.
func readBodyValue(a *arena, body gjson.Result, m *Message, fallbackExtra gjson.Result) bool {
	if !body.IsObject() {
		return false
	}
	var module, command, params, extra gjson.Result
	body.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "module_id":
			module = v
		case "command":
			command = v
		case "params":
			params = v
		case "extra":
			extra = v
		}
		return true
	})
	if module.Type != gjson.String || command.Type != gjson.String {
		return false
	}
	p, ok := a.object(params)
	if !ok {
		return false
	}
	if !extra.Exists() {
		extra = fallbackExtra
	}
	e, ok := a.object(extra)
	if !ok {
		e = emptyObject()
	}
	m.ModuleID, m.Command, m.Params, m.Extra = module.Str, command.Str, p, e
	return true
}

// AppendJSONString appends s to b as a JSON string literal: quotes, backslashes and control characters are escaped,
// invalid UTF-8 becomes U+FFFD, and everything else (non-ASCII, <, >, &) is written as is.
func AppendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
