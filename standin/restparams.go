package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxRESTBody bounds a REST request body.
const maxRESTBody = 1 << 20

// restParams holds a REST call's parameters, keys upper-cased as the portal does, each value as JSON:
// form values arrive as JSON strings (PHP bracket syntax builds arrays and objects), a JSON body keeps
// its types.
type restParams map[string]json.RawMessage

var errBadBody = errors.New("unreadable request body")

// readRESTParams reads the query and the body (form-encoded with PHP brackets, or JSON). Body values
// override query values.
func readRESTParams(r *http.Request) (restParams, error) {
	p := restParams{}
	p.addForm(r.URL.RawQuery)
	if r.Method != http.MethodPost {
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRESTBody+1))
	if err != nil || len(body) > maxRESTBody {
		return nil, errBadBody
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(body)
	if ct == "application/json" || (ct == "" && len(trimmed) > 0 && trimmed[0] == '{') {
		if len(trimmed) == 0 {
			return p, nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, errBadBody
		}
		for k, v := range obj {
			p[strings.ToUpper(k)] = v
		}
		return p, nil
	}
	p.addForm(string(body))
	return p, nil
}

// formNode is one node of a PHP request array built from bracket syntax.
type formNode struct {
	leaf    bool
	value   string
	keys    []string
	kids    map[string]*formNode
	nextIdx int
}

func (n *formNode) child(key string) *formNode {
	if n.leaf || n.kids == nil {
		*n = formNode{kids: map[string]*formNode{}}
	}
	if key == "" {
		key = strconv.Itoa(n.nextIdx)
	}
	if i, err := strconv.Atoi(key); err == nil && i >= n.nextIdx {
		n.nextIdx = i + 1
	}
	c := n.kids[key]
	if c == nil {
		c = &formNode{}
		n.kids[key] = c
		n.keys = append(n.keys, key)
	}
	return c
}

// json writes the node as PHP's json_encode: a leaf as a string, an array with keys 0..n-1 in order
// as a list, anything else as an object in insertion order.
func (n *formNode) json() json.RawMessage {
	if n.leaf || n.kids == nil {
		return marshalJSON(n.value)
	}
	list := true
	for i, k := range n.keys {
		if k != strconv.Itoa(i) {
			list = false
			break
		}
	}
	var buf bytes.Buffer
	if list {
		buf.WriteByte('[')
	} else {
		buf.WriteByte('{')
	}
	for i, k := range n.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if !list {
			buf.Write(marshalJSON(k))
			buf.WriteByte(':')
		}
		buf.Write(n.kids[k].json())
	}
	if list {
		buf.WriteByte(']')
	} else {
		buf.WriteByte('}')
	}
	return buf.Bytes()
}

// addForm parses an application/x-www-form-urlencoded string with PHP's bracket syntax
// (a[b][]=1&a[b][]=2) in order and sets the top-level keys.
func (p restParams) addForm(raw string) {
	root := &formNode{kids: map[string]*formNode{}}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(name)
		value, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil || name == "" {
			continue
		}
		base, path := splitBrackets(name)
		node := root.child(base)
		for _, seg := range path {
			node = node.child(seg)
		}
		*node = formNode{leaf: true, value: value}
	}
	for _, k := range root.keys {
		p[strings.ToUpper(k)] = root.kids[k].json()
	}
}

// splitBrackets splits "a[b][c]" into "a" and ["b", "c"]; a name without a well-formed bracket
// part is returned whole.
func splitBrackets(name string) (string, []string) {
	i := strings.IndexByte(name, '[')
	if i <= 0 {
		return name, nil
	}
	base, rest := name[:i], name[i:]
	var path []string
	for strings.HasPrefix(rest, "[") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			break
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	if len(path) == 0 {
		return name, nil
	}
	return base, path
}

// has reports whether the key was given.
func (p restParams) has(key string) bool {
	_, ok := p[key]
	return ok
}

// str returns the value as a string: a JSON string as is, a number or boolean as its text; ok is false
// for arrays, objects, null and absent keys.
func (p restParams) str(key string) (string, bool) {
	raw, ok := p[key]
	if !ok {
		return "", false
	}
	return jsonScalar(raw)
}

func jsonScalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case '{', '[', 'n':
		return "", false
	default:
		return string(raw), true
	}
}

// decoded returns the value with JSON strings that hold JSON arrays or objects decoded once (the portal
// accepts array parameters as JSON strings).
func (p restParams) decoded(key string) (json.RawMessage, bool) {
	raw, ok := p[key]
	if !ok {
		return nil, false
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			t := strings.TrimSpace(s)
			if (strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{")) && json.Valid([]byte(t)) {
				return json.RawMessage(t), true
			}
		}
	}
	return raw, true
}

// ints reads a value as a list of user ids the way the portal casts them: a number, a numeric string,
// an array of those, or a JSON string holding one of those. Entries are cast with PHP's intval rules
// (leading digits); ok is false for an object.
func (p restParams) ints(key string) ([]int, bool) {
	raw, ok := p.decoded(key)
	if !ok {
		return nil, false
	}
	if len(raw) > 0 && raw[0] == '{' {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil, false
		}
		// A PHP array with explicit keys (USERS[0]=1) is still a list of values.
		var out []int
		for _, v := range obj {
			if s, ok := jsonScalar(v); ok {
				out = append(out, intval(s))
			}
		}
		return out, true
	}
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil, false
		}
		out := make([]int, 0, len(list))
		for _, v := range list {
			s, ok := jsonScalar(v)
			if !ok {
				continue
			}
			out = append(out, intval(s))
		}
		return out, true
	}
	s, ok := jsonScalar(raw)
	if !ok {
		return nil, false
	}
	return []int{intval(s)}, true
}

// intval is PHP's (int) cast of a string: optional sign and leading digits, 0 otherwise.
func intval(s string) int {
	s = strings.TrimSpace(s)
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			return int(f)
		}
		return 0
	}
	return n
}

// flag reads a Y/N parameter: true only for "Y" (any case).
func (p restParams) flag(key string) bool {
	s, ok := p.str(key)
	return ok && strings.EqualFold(s, "Y")
}
