package protocol

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Server modes (docs/protocol.md §1.3).
const (
	ModePersonal = "personal"
	ModeShared   = "shared"
)

// Limits on values the parser accepts.
const (
	maxServerVersion = math.MaxInt32
	maxChannelIDLen  = 512
	// maxUnixTime is 9999-12-31T23:59:59Z, the last instant an ISO-8601 date with a 4-digit year names.
	maxUnixTime = 253402300799
	// maxExactFloat is the largest integer a JSON number (a float64 in JavaScript) holds exactly.
	maxExactFloat = 1 << 53
)

// ParseConfig reads a pull.application.config.get (or pull.config.get) answer into a Config.
//
// answer is the whole REST answer ({"result": {…}, "time": {…}}) or the bare result object. A Bitrix
// error envelope comes back as a *RESTError; a missing, mistyped or malformed field as a *ConfigError
// naming the field (errors.Is(err, ErrInvalidConfig) holds). localNow is the local clock at the time
// the answer arrived; it sets TimeShift from serverTime (0 when serverTime is missing or unparsable,
// or when localNow is zero). Error texts never quote values, so no channel id, signature, JWT or
// clientId can leak through them.
//
// Required: server.version (an integer ≥ 1), at least one of the websocket and long-polling URLs, at
// least one channel id or a jwt, clientId in shared mode. server.mode defaults to "personal".
func ParseConfig(answer []byte, localNow time.Time) (*Config, error) {
	res, err := answerResult(answer)
	if err != nil {
		return nil, err
	}
	if !res.IsObject() {
		return nil, configErr("result", "not an object")
	}
	c := &Config{}
	if err := parseServer(res.Get("server"), &c.Server); err != nil {
		return nil, err
	}
	if err := parseAPI(res.Get("api"), &c.API); err != nil {
		return nil, err
	}
	if err := parseChannels(res.Get("channels"), &c.Channels); err != nil {
		return nil, err
	}
	if c.PublicChannels, err = parsePublicChannelMap(res.Get("publicChannels"), "publicChannels"); err != nil {
		return nil, err
	}
	if c.ClientID, err = cfgString(res.Get("clientId"), "clientId"); err != nil {
		return nil, err
	}
	if c.JWT, err = cfgString(res.Get("jwt"), "jwt"); err != nil {
		return nil, err
	}
	exp, _, err := cfgInt(res.Get("exp"), "exp")
	if err != nil {
		return nil, err
	}
	if exp < 0 || exp > maxUnixTime {
		return nil, configErr("exp", "not a unix time")
	}
	c.Exp = exp
	if st, err := ParseTime(res.Get("serverTime")); err == nil && !localNow.IsZero() {
		c.ServerTime = st
		c.TimeShift = floorSeconds(localNow.Sub(st))
	}

	if c.Server.Mode == ModeShared && c.ClientID == "" {
		return nil, &ConfigError{Field: "clientId", Reason: "missing (the server is in shared mode)", Err: ErrSharedWithoutClientID}
	}
	if c.JWT == "" && !c.Channels.hasID() {
		return nil, &ConfigError{Field: "channels", Reason: "no channel id and no jwt", Err: ErrNoChannels}
	}
	return c, nil
}

// ParseChannel reads one signed channel object ({id, public_id?, start, end, type?}): a config's
// channels.private / channels.shared, or the new_channel of a channel_expire command. field names the
// object in errors. id, start and end are required and end must be after start; start and end are
// ISO-8601 dates or unix times (see ParseTime).
func ParseChannel(v gjson.Result, field string) (*Channel, error) {
	if !v.IsObject() {
		return nil, configErr(field, "not an object")
	}
	ch := &Channel{}
	var err error
	if ch.ID, err = channelID(v.Get("id"), field+".id", true); err != nil {
		return nil, err
	}
	if ch.PublicID, err = channelID(v.Get("public_id"), field+".public_id", false); err != nil {
		return nil, err
	}
	if ch.Start, ch.End, err = timeRange(v, field, true); err != nil {
		return nil, err
	}
	if ch.Type, err = cfgString(v.Get("type"), field+".type"); err != nil {
		return nil, err
	}
	return ch, nil
}

// ParsePublicChannels reads a pull.channel.public.list answer (the whole REST answer or its bare
// result), or a config's publicChannels value: {"<userId>": {user_id, public_id, signature, start,
// end}}. false, null and an empty array (PHP's empty map) give an empty map. A Bitrix error envelope
// comes back as a *RESTError.
func ParsePublicChannels(result []byte) (map[string]PublicChannel, error) {
	if gjson.ValidBytes(result) && isEmptyValue(gjson.ParseBytes(result)) {
		return map[string]PublicChannel{}, nil
	}
	res, err := answerResult(result)
	if err != nil {
		return nil, err
	}
	m, err := parsePublicChannelMap(res, "publicChannels")
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]PublicChannel{}
	}
	return m, nil
}

// ParseTime reads a date as the portal writes it: an ISO-8601 string with an offset (PHP date('c'),
// "2025-05-14T09:30:00+02:00"), or unix seconds as a JSON number or a numeric string (the channel
// cleanup path sends new_channel.start that way). Fractions of a second are kept.
func ParseTime(v gjson.Result) (time.Time, error) {
	t, reason := parseTime(v)
	if reason != "" {
		return time.Time{}, errors.New("protocol: " + reason)
	}
	return t, nil
}

func parseTime(v gjson.Result) (time.Time, string) {
	switch v.Type {
	case gjson.Number:
		if isUnixString(v.Raw) {
			return unixDecimal(v.Raw)
		}
		return unixTime(v.Num)
	case gjson.String:
		if isUnixString(v.Str) {
			return unixDecimal(v.Str)
		}
		t, err := time.Parse(time.RFC3339, v.Str)
		if err != nil {
			return time.Time{}, "not an ISO-8601 date"
		}
		return t, ""
	case gjson.Null:
		return time.Time{}, "missing"
	}
	return time.Time{}, "not a date"
}

func unixTime(f float64) (time.Time, string) {
	if math.IsNaN(f) || f < 0 || f > maxUnixTime {
		return time.Time{}, "not a unix time"
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), ""
}

// unixDecimal reads unix seconds written as digits with an optional fraction, exactly (a float64 would
// turn .317 into .316999…).
func unixDecimal(s string) (time.Time, string) {
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec > maxUnixTime {
		return time.Time{}, "not a unix time"
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	var nsec int64
	if frac != "" {
		n, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		nsec = n
	}
	return time.Unix(sec, nsec).UTC(), ""
}

// isUnixString reports whether s is digits with at most one decimal point, like "1747208400.317".
func isUnixString(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return true
}

// answerResult validates a REST answer and returns its result (or the answer itself when it is a bare
// result). An error envelope becomes a *RESTError.
func answerResult(answer []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(answer) {
		return gjson.Result{}, &ConfigError{Reason: fmt.Sprintf("answer is not valid JSON (%d bytes)", len(answer))}
	}
	root := gjson.ParseBytes(answer)
	if e, ok := restErrorFrom(root, 0); ok {
		return gjson.Result{}, e
	}
	if !root.IsObject() {
		return gjson.Result{}, &ConfigError{Reason: "answer is not a JSON object"}
	}
	if r := root.Get("result"); r.Exists() {
		return r, nil
	}
	return root, nil
}

func parseServer(v gjson.Result, s *Server) error {
	if !v.IsObject() {
		if !v.Exists() || v.Type == gjson.Null {
			return configErr("server", "missing")
		}
		return configErr("server", "not an object")
	}
	version, ok, err := cfgInt(v.Get("version"), "server.version")
	if err != nil {
		return err
	}
	if !ok {
		return configErr("server.version", "missing")
	}
	if version < 1 || version > maxServerVersion {
		return configErr("server.version", "out of range (must be at least 1)")
	}
	s.Version = int(version)

	mode, err := cfgString(v.Get("mode"), "server.mode")
	if err != nil {
		return err
	}
	switch {
	case !v.Get("mode").Exists() || v.Get("mode").Type == gjson.Null:
		s.Mode = ModePersonal
	case mode == ModePersonal || mode == ModeShared:
		s.Mode = mode
	default:
		return configErr("server.mode", `neither "personal" nor "shared"`)
	}

	lpSecure := v.Get("long_pooling_secure")
	lpSecureField := "server.long_pooling_secure"
	if !lpSecure.Exists() || lpSecure.Type == gjson.Null {
		lpSecure, lpSecureField = v.Get("long_polling_secure"), "server.long_polling_secure"
	}
	strs := []struct {
		dst     *string
		v       gjson.Result
		field   string
		schemes string
	}{
		{&s.Hostname, v.Get("hostname"), "server.hostname", ""},
		{&s.LongPolling, v.Get("long_polling"), "server.long_polling", "http https"},
		{&s.LongPollingSecure, lpSecure, lpSecureField, "http https"},
		{&s.WebSocket, v.Get("websocket"), "server.websocket", "ws wss"},
		{&s.WebSocketSecure, v.Get("websocket_secure"), "server.websocket_secure", "ws wss"},
		{&s.Publish, v.Get("publish"), "server.publish", "http https"},
		{&s.PublishSecure, v.Get("publish_secure"), "server.publish_secure", "http https"},
	}
	for _, f := range strs {
		str, err := cfgString(f.v, f.field)
		if err != nil {
			return err
		}
		if f.schemes != "" && str != "" && !validURL(str, f.schemes) {
			return configErr(f.field, "not a %s URL", strings.ReplaceAll(f.schemes, " ", " or "))
		}
		*f.dst = str
	}
	if s.WebSocket == "" && s.WebSocketSecure == "" && s.LongPolling == "" && s.LongPollingSecure == "" {
		return configErr("server", "no websocket or long-polling URL")
	}

	bools := []struct {
		dst   *bool
		field string
	}{
		{&s.ServerEnabled, "server_enabled"},
		{&s.WebSocketEnabled, "websocket_enabled"},
		{&s.PublishEnabled, "publish_enabled"},
	}
	for _, f := range bools {
		if *f.dst, err = cfgBool(v.Get(f.field), "server."+f.field); err != nil {
			return err
		}
	}
	s.ConfigTimestamp, _, err = cfgInt(v.Get("config_timestamp"), "server.config_timestamp")
	return err
}

func parseAPI(v gjson.Result, a *API) error {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	if !v.IsObject() {
		return configErr("api", "not an object")
	}
	web, _, err := cfgInt(v.Get("revision_web"), "api.revision_web")
	if err != nil {
		return err
	}
	mobile, _, err := cfgInt(v.Get("revision_mobile"), "api.revision_mobile")
	if err != nil {
		return err
	}
	if web < 0 || web > math.MaxInt32 {
		return configErr("api.revision_web", "out of range")
	}
	if mobile < 0 || mobile > math.MaxInt32 {
		return configErr("api.revision_mobile", "out of range")
	}
	a.RevisionWeb, a.RevisionMobile = int(web), int(mobile)
	return nil
}

func parseChannels(v gjson.Result, c *Channels) error {
	if isEmptyValue(v) {
		return nil
	}
	if !v.IsObject() {
		return configErr("channels", "not an object")
	}
	for _, f := range []struct {
		dst **Channel
		key string
	}{{&c.Private, "private"}, {&c.Shared, "shared"}} {
		ch := v.Get(f.key)
		if isEmptyValue(ch) {
			continue
		}
		parsed, err := ParseChannel(ch, "channels."+f.key)
		if err != nil {
			return err
		}
		*f.dst = parsed
	}
	return nil
}

// parsePublicChannelMap reads a {"<userId>": {…}} map; nil for false, null, [] or a missing value.
func parsePublicChannelMap(v gjson.Result, field string) (map[string]PublicChannel, error) {
	if isEmptyValue(v) {
		return nil, nil
	}
	if !v.IsObject() {
		return nil, configErr(field, "neither an object nor false")
	}
	var m map[string]PublicChannel
	var err error
	v.ForEach(func(key, entry gjson.Result) bool {
		var pc PublicChannel
		if pc, err = parsePublicChannel(key.Str, entry, field+"."+safeKey(key.Str)); err != nil {
			return false
		}
		if m == nil {
			m = map[string]PublicChannel{}
		}
		m[key.Str] = pc
		return true
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func parsePublicChannel(key string, v gjson.Result, field string) (PublicChannel, error) {
	var pc PublicChannel
	if !v.IsObject() {
		return pc, configErr(field, "not an object")
	}
	uid := v.Get("user_id")
	switch {
	case uid.Type == gjson.String:
		// The portal reads user ids from the database; tolerate them as numeric strings.
		n, err := strconv.ParseInt(uid.Str, 10, 32)
		if err != nil || n < 0 {
			return pc, configErr(field+".user_id", "not a user id")
		}
		pc.UserID = int(n)
	case uid.Exists() && uid.Type != gjson.Null:
		n, _, err := cfgInt(uid, field+".user_id")
		if err != nil {
			return pc, err
		}
		if n < 0 || n > math.MaxInt32 {
			return pc, configErr(field+".user_id", "not a user id")
		}
		pc.UserID = int(n)
	default:
		n, err := strconv.ParseInt(key, 10, 32)
		if err != nil || n < 0 {
			return pc, configErr(field+".user_id", "missing")
		}
		pc.UserID = int(n)
	}
	var err error
	if pc.PublicID, err = channelID(v.Get("public_id"), field+".public_id", true); err != nil {
		return pc, err
	}
	if pc.Signature, err = channelID(v.Get("signature"), field+".signature", true); err != nil {
		return pc, err
	}
	pc.Start, pc.End, err = timeRange(v, field, false)
	return pc, err
}

// timeRange reads start and end of a channel object; with required false either may be missing.
func timeRange(v gjson.Result, field string, required bool) (start, end time.Time, err error) {
	for _, f := range []struct {
		dst *time.Time
		key string
	}{{&start, "start"}, {&end, "end"}} {
		tv := v.Get(f.key)
		if !required && (!tv.Exists() || tv.Type == gjson.Null) {
			continue
		}
		t, reason := parseTime(tv)
		if reason != "" {
			return time.Time{}, time.Time{}, configErr(field+"."+f.key, "%s", reason)
		}
		*f.dst = t
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		return time.Time{}, time.Time{}, configErr(field+".end", "not after start")
	}
	return start, end, nil
}

// channelID reads a signed id, public id or signature: letters, digits and ":._-" only, so it can
// never carry "/" (the CHANNEL_ID separator) or anything a URL would mangle.
func channelID(v gjson.Result, field string, required bool) (string, error) {
	s, err := cfgString(v, field)
	if err != nil {
		return "", err
	}
	if s == "" {
		if required {
			return "", configErr(field, "missing")
		}
		return "", nil
	}
	if !wellFormedID(s) {
		return "", configErr(field, "not a well-formed channel id")
	}
	return s, nil
}

func wellFormedID(s string) bool {
	if len(s) > maxChannelIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == ':', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// validURL reports whether s parses as an absolute URL with a host and one of the schemes.
func validURL(s, schemes string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	for _, sc := range strings.Fields(schemes) {
		if strings.EqualFold(u.Scheme, sc) {
			return true
		}
	}
	return false
}

// cfgString reads an optional string; missing and null give "".
func cfgString(v gjson.Result, field string) (string, error) {
	switch v.Type {
	case gjson.Null:
		return "", nil
	case gjson.String:
		return v.Str, nil
	}
	return "", configErr(field, "not a string")
}

// cfgInt reads an optional integer; ok is false when it is missing or null. A number written with a
// fraction or exponent is accepted only when it is integral and exact.
func cfgInt(v gjson.Result, field string) (n int64, ok bool, err error) {
	switch v.Type {
	case gjson.Null:
		return 0, false, nil
	case gjson.Number:
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			return n, true, nil
		}
		if f := v.Num; f == math.Trunc(f) && math.Abs(f) <= maxExactFloat {
			return int64(f), true, nil
		}
		return 0, false, configErr(field, "not an integer")
	}
	return 0, false, configErr(field, "not a number")
}

// cfgBool reads an optional boolean; missing and null give false, and the numbers 1 and 0 are
// tolerated.
func cfgBool(v gjson.Result, field string) (bool, error) {
	switch v.Type {
	case gjson.Null, gjson.False:
		return false, nil
	case gjson.True:
		return true, nil
	case gjson.Number:
		switch v.Num {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
	}
	return false, configErr(field, "not a boolean")
}

// isEmptyValue reports a missing value or one PHP writes for "nothing": null, false, [] or {}.
func isEmptyValue(v gjson.Result) bool {
	switch v.Type {
	case gjson.Null, gjson.False:
		return true
	case gjson.JSON:
		t := strings.TrimSpace(v.Raw)
		return len(t) >= 2 && strings.TrimSpace(t[1:len(t)-1]) == ""
	}
	return false
}

// safeKey returns a map key for an error path: a user id is shown, anything else is not.
func safeKey(k string) string {
	if k == "" || len(k) > 20 {
		return "*"
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return "*"
		}
	}
	return k
}

// floorSeconds rounds d down to whole seconds, toward negative infinity as Math.floor does.
func floorSeconds(d time.Duration) time.Duration {
	s := d.Truncate(time.Second)
	if s > d && s >= math.MinInt64+time.Second {
		s -= time.Second
	}
	return s
}

func (c Channels) hasID() bool {
	return (c.Private != nil && c.Private.ID != "") || (c.Shared != nil && c.Shared.ID != "")
}
