package protocol

import (
	"net/url"
	"strings"
)

// Redacted replaces a secret in redacted text.
const Redacted = "***"

// secretParams are the query (and fragment) parameters whose values RedactURL masks, lower-cased.
var secretParams = map[string]bool{
	"channel_id":    true,
	"token":         true,
	"clientid":      true,
	"signature":     true,
	"auth":          true,
	"access_token":  true,
	"refresh_token": true,
	"refresh_id":    true,
	"auth_id":       true,
}

// RedactURL masks the secrets of a URL for logs: the values of CHANNEL_ID, token, clientId, signature,
// auth, access_token and the other token parameters (names compared without regard to case or
// percent-encoding, in the query and in the fragment) become "***", and so does the password of a
// user:password@ part. Everything else is kept byte for byte. Text that is not a URL comes back
// unchanged unless it has such parameters.
func RedactURL(raw string) string {
	s := redactUserinfo(raw)
	q := strings.IndexByte(s, '?')
	h := strings.IndexByte(s, '#')
	if q < 0 && h < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	switch {
	case q >= 0 && (h < 0 || q < h):
		b.WriteString(s[:q+1])
		if h < 0 {
			b.WriteString(redactParams(s[q+1:]))
			return b.String()
		}
		b.WriteString(redactParams(s[q+1 : h]))
	default:
		b.WriteString(s[:h])
	}
	b.WriteByte('#')
	b.WriteString(redactParams(s[h+1:]))
	return b.String()
}

// redactUserinfo masks the password in scheme://user:password@host.
func redactUserinfo(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	start := i + 3
	end := len(s)
	if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
		end = start + j
	}
	at := strings.LastIndexByte(s[start:end], '@')
	if at < 0 {
		return s
	}
	colon := strings.IndexByte(s[start:start+at], ':')
	if colon < 0 {
		return s
	}
	return s[:start+colon+1] + Redacted + s[start+at:]
}

// redactParams masks the secret values of a key=value&… list.
func redactParams(s string) string {
	pairs := strings.Split(s, "&")
	for i, p := range pairs {
		eq := strings.IndexByte(p, '=')
		if eq < 0 {
			continue
		}
		key := p[:eq]
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if secretParams[strings.ToLower(strings.TrimSpace(key))] && eq < len(p)-1 {
			pairs[i] = p[:eq+1] + Redacted
		}
	}
	return strings.Join(pairs, "&")
}

// Redact replaces every occurrence of each non-empty secret in text with "***". Overlapping and
// adjacent occurrences are masked as one run, so no piece of any secret survives whatever the order
// of secrets (Config.Secrets gives them).
func Redact(text string, secrets []string) string {
	if text == "" || len(secrets) == 0 {
		return text
	}
	var masked []bool
	for _, sec := range secrets {
		if sec == "" || len(sec) > len(text) {
			continue
		}
		markedTo := 0
		for from := 0; from <= len(text)-len(sec); {
			i := strings.Index(text[from:], sec)
			if i < 0 {
				break
			}
			if masked == nil {
				masked = make([]bool, len(text))
			}
			start := from + i
			for j := max(start, markedTo); j < start+len(sec); j++ {
				masked[j] = true
			}
			markedTo = start + len(sec)
			from = start + 1
		}
	}
	if masked == nil {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		if !masked[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		b.WriteString(Redacted)
		for i < len(text) && masked[i] {
			i++
		}
	}
	return b.String()
}
