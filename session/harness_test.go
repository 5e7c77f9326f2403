package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is the fake clock's origin.
var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

const (
	privID   = "a1b2c3d4e5f60718293a4b5c6d7e8f90:0f1e2d3c4b5a69788796a5b4c3d2e1f0.58ed701edf98cdbba959bbf4d595a03e19fd8562"
	sharedID = "5d41402abc4b2a76b9719d911017c592.0aa6e01c7a6af0e1dd6efa9234dc22982d98a43e"
	newShare = "ffffffffffffffffffffffffffffffff.f231f9b4a84e3ee57ab206acf67cd39ac734a404"
)

// cfgSpec describes a config answer to build.
type cfgSpec struct {
	version     int
	wsEnabled   bool
	start       time.Time
	lifetime    time.Duration
	private     string
	shared      string
	serverShift time.Duration // server clock minus local clock
	token       string        // the jwt of version 5; empty for defaultToken
}

func defaultSpec() cfgSpec {
	return cfgSpec{version: 4, wsEnabled: true, start: t0, lifetime: 12 * time.Hour, private: privID, shared: sharedID}
}

func (s cfgSpec) json(now time.Time) string {
	var priv, shared *channelSpec
	if s.shared != "" {
		shared = &channelSpec{id: s.shared, start: s.start, end: s.start.Add(s.lifetime)}
	}
	if s.private != "" {
		priv = &channelSpec{id: s.private, start: s.start, end: s.start.Add(s.lifetime)}
	}
	return configJSON(s.version, s.wsEnabled, now.Add(s.serverShift), s.start.Add(s.lifetime), s.token, priv, shared)
}

// channelSpec is one channel of a config answer.
type channelSpec struct {
	id         string
	start, end time.Time
}

// defaultToken is the jwt of a version 5 config answer unless the test names another.
const defaultToken = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"

// configJSON builds a pull.application.config.get answer with the given channels (nil for none);
// serverTime is the portal's clock, exp and token (defaultToken when empty) the jwt's expiry and
// value (version 5).
func configJSON(version int, wsEnabled bool, serverTime, exp time.Time, token string, priv, shared *channelSpec) string {
	channels := map[string]any{}
	if shared != nil {
		channels["shared"] = map[string]any{"id": shared.id, "start": shared.start.Format(time.RFC3339),
			"end": shared.end.Format(time.RFC3339), "type": "shared"}
	}
	if priv != nil && version < 5 {
		channels["private"] = map[string]any{"id": priv.id, "public_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0.38cdc8da33eb1639e59ace48b468e17fe48b8746",
			"start": priv.start.Format(time.RFC3339), "end": priv.end.Format(time.RFC3339), "type": "private"}
	}
	res := map[string]any{
		"server": map[string]any{"version": version, "server_enabled": true, "mode": "personal",
			"long_polling": "http://push.test/bitrix/sub/", "long_pooling_secure": "https://push.test/bitrix/sub/",
			"websocket_enabled": wsEnabled, "websocket": "ws://push.test/bitrix/subws/", "websocket_secure": "wss://push.test/bitrix/subws/",
			"publish_enabled": version > 3, "publish": "http://push.test/bitrix/pub/", "publish_secure": "https://push.test/bitrix/pub/",
			"config_timestamp": 1747000000},
		"api":        map[string]any{"revision_web": 19, "revision_mobile": 3},
		"channels":   channels,
		"serverTime": serverTime.Format(time.RFC3339),
	}
	if version >= 5 {
		if token == "" {
			token = defaultToken
		}
		res["jwt"] = token
		res["exp"] = exp.Unix()
	}
	b, _ := json.Marshal(map[string]any{"result": res})
	return string(b)
}

// harness drives a Machine on a fake clock, only through its exported API. The inputs below record
// what the machine answered, so that a scenario can assert what a driver would see: the URLs dialled,
// the events delivered, the config loads asked for.
type harness struct {
	t   *testing.T
	m   *Machine
	now time.Time
	u   float64  // the value Rand returns
	log []Action // every action answered to the inputs below, in order
}

func newHarness(t *testing.T, opts Options) *harness {
	h := &harness{t: t, now: t0, u: 0}
	opts.Rand = func() float64 { return h.u }
	h.m = New(opts)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(h.story())
		}
	})
	return h
}

// story tells what the machine did, for a failing test: the dials (channels by name, and the message
// each resumed after), the messages delivered and the timers pending.
func (h *harness) story() string {
	var b strings.Builder
	b.WriteString("dials:\n")
	for _, d := range h.dials() {
		from := d.MID
		if n := midNumber(d.MID); n > 0 {
			from = fmt.Sprint(n)
		}
		fmt.Fprintf(&b, "  gen %d: %s from %q\n", d.Gen, strings.Join(channelNames(d.Channels), "+"), from)
	}
	fmt.Fprintf(&b, "delivered: %v\ntimers: %v", h.delivered(), h.m.Timers(h.now))
	return b.String()
}

// channelNames names the channel ids the tests use; others are shown by their first characters.
func channelNames(ids []string) []string {
	names := map[string]string{privID: "privID", sharedID: "sharedID", newShare: "newShare", newPriv: "newPriv",
		middle: "middle", newest: "newest"}
	var out []string
	for _, id := range ids {
		name, ok := names[id]
		if !ok {
			name = id[:min(len(id), 8)]
		}
		out = append(out, name)
	}
	return out
}

func (h *harness) config(s cfgSpec) *protocol.Config {
	cfg, err := protocol.ParseConfig([]byte(s.json(h.now)), h.now)
	require.NoError(h.t, err)
	return cfg
}

// rec records the actions of one input and returns them.
func (h *harness) rec(acts []Action) []Action {
	h.log = append(h.log, acts...)
	return acts
}

// advance moves the clock by d and fires the timers due.
func (h *harness) advance(d time.Duration) []Action {
	h.now = h.now.Add(d)
	return h.rec(h.m.Tick(h.now))
}

// frame feeds the pieces as one websocket text frame of connection gen.
func (h *harness) frame(gen int, pieces ...[]byte) []Action {
	return h.rec(h.m.Frame(gen, bytes.Join(pieces, nil), false, h.now))
}

// open reports that connection gen opened.
func (h *harness) open(gen int) []Action { return h.rec(h.m.Opened(gen, h.now)) }

// drop reports that connection gen closed with code (1006: no close code seen).
func (h *harness) drop(gen, code int) []Action { return h.rec(h.m.Closed(gen, code, h.now)) }

// answer feeds the config answer s to the load in flight.
func (h *harness) answer(s cfgSpec) []Action { return h.rec(h.m.ConfigLoaded(h.config(s), h.now)) }

// poll feeds the answer to a long-polling GET of connection gen.
func (h *harness) poll(gen, status int, body []byte) []Action {
	return h.rec(h.m.PollResult(gen, status, body, "", "", h.now))
}

// deadline returns when the named timer (Machine.Deadlines) is due; the test fails if none is.
func (h *harness) deadline(name string) time.Time {
	h.t.Helper()
	d, ok := h.m.Deadlines()[name]
	require.Truef(h.t, ok, "no %s timer: %v", name, h.m.Timers(h.now))
	return d
}

// advanceTo moves the clock to the named timer's deadline and fires what is due.
func (h *harness) advanceTo(name string) []Action {
	h.t.Helper()
	return h.advance(h.deadline(name).Sub(h.now))
}

// replacedAt checks that connection gen is kept until at and replaced then, by a timer; it returns
// the actions at that moment.
func (h *harness) replacedAt(at time.Time, gen int) []Action {
	h.t.Helper()
	h.quiet(at.Sub(h.now) - time.Millisecond)
	acts := h.advance(time.Millisecond)
	assert.Equal(h.t, gen, requireAction[Disconnect](h.t, acts).Gen, "the connection replaced")
	return acts
}

// quiet checks that for d nothing is dialled or closed, and moves the clock by d.
func (h *harness) quiet(d time.Duration) {
	h.t.Helper()
	acts := h.advance(d)
	requireNo[Connect](h.t, acts)
	requireNo[Disconnect](h.t, acts)
}

// start runs Start → config → open and returns the generation of the open connection.
func (h *harness) start(s cfgSpec) int {
	acts := h.rec(h.m.Start(h.now))
	requireAction[LoadConfig](h.t, acts)
	acts = h.answer(s)
	c := requireAction[Connect](h.t, acts)
	acts = h.open(c.Gen)
	done := requireAction[StartDone](h.t, acts)
	require.NoError(h.t, done.Err)
	require.Equal(h.t, StatusOnline, h.m.Status())
	return c.Gen
}

// startLost starts on s, lets message 1 arrive and loses the connection with code; it returns the
// actions of the close.
func (h *harness) startLost(s cfgSpec, code int) []Action {
	gen := h.start(s)
	h.frame(gen, textMsg(mid(1), "application", "a", `{}`))
	return h.drop(gen, code)
}

// nextDial lets the reconnect timer fire and returns its dial.
func (h *harness) nextDial() Connect {
	h.t.Helper()
	return requireAction[Connect](h.t, h.advanceTo("reconnect"))
}

func find[T Action](acts []Action) (T, bool) {
	for _, a := range acts {
		if v, ok := a.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func requireAction[T Action](t *testing.T, acts []Action) T {
	t.Helper()
	v, ok := find[T](acts)
	require.Truef(t, ok, "no %T in %s", v, describe(acts))
	return v
}

func requireNo[T Action](t *testing.T, acts []Action) {
	t.Helper()
	v, ok := find[T](acts)
	require.Falsef(t, ok, "unexpected %T in %s", v, describe(acts))
}

func all[T Action](acts []Action) []T {
	var out []T
	for _, a := range acts {
		if v, ok := a.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func describe(acts []Action) string {
	var parts []string
	for _, a := range acts {
		switch v := a.(type) {
		case Log:
			parts = append(parts, "Log("+v.Text+")")
		case Deliver:
			parts = append(parts, "Deliver("+string(v.Events)+")")
		default:
			parts = append(parts, fmt.Sprintf("%T%+v", a, a))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// events decodes every Deliver of acts into generic maps.
func eventsOf(t *testing.T, acts []Action) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range all[Deliver](acts) {
		var batch []map[string]any
		require.NoError(t, json.Unmarshal(d.Events, &batch), string(d.Events))
		out = append(out, batch...)
	}
	return out
}

func messagesOf(evs []map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e["type"] != TypeStatus && e["type"] != TypeRevision {
			out = append(out, e)
		}
	}
	return out
}

// textMsg builds one legacy text piece with the given mid and body.
func textMsg(mid, module, command, params string) []byte {
	body := fmt.Sprintf(`{"module_id":%q,"command":%q,"params":%s,"extra":{"server_time_unix":%d.5,"revision_web":19}}`,
		module, command, params, t0.Unix())
	return protocol.EncodeText(protocol.TextEnvelope{ID: 1, MID: mid, Channel: "-", Tag: "1", Time: "x", Text: json.RawMessage(body)})
}

func mid(n int) string { return fmt.Sprintf("17954868390000000000%06d", n) }

// msg is message n (mid n) on whatever channel, a plain application event whose command names it: see
// delivered.
func msg(n int) []byte { return textMsg(mid(n), "application", key(n), `{}`) }

func key(n int) string { return fmt.Sprintf("m%d", n) }

// delivered returns the numbers of the messages built by msg (or with key) that reached the
// subscribers, in the order they were delivered, duplicates included.
func (h *harness) delivered() []int {
	var out []int
	for _, e := range messagesOf(eventsOf(h.t, h.log)) {
		var n int
		if c, _ := e["command"].(string); len(c) > 1 && c[0] == 'm' {
			if _, err := fmt.Sscanf(c, "m%d", &n); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// dial is a Connect as the push server reads it.
type dial struct {
	Gen       int
	Transport protocol.Transport
	Channels  []string // CHANNEL_ID split on "/": the private id first
	MID       string
}

func dialOf(t *testing.T, c Connect) dial {
	t.Helper()
	return urlDial(t, c.Gen, c.Transport, c.URL)
}

// pollOf reads a long-polling GET the same way.
func pollOf(t *testing.T, p Poll) dial {
	t.Helper()
	return urlDial(t, p.Gen, protocol.TransportLongPolling, p.URL)
}

func urlDial(t *testing.T, gen int, tr protocol.Transport, raw string) dial {
	t.Helper()
	q := query(t, raw)
	d := dial{Gen: gen, Transport: tr, MID: q.Get("mid")}
	if ids := q.Get("CHANNEL_ID"); ids != "" {
		d.Channels = strings.Split(ids, "/")
	}
	return d
}

// has reports whether the dial subscribes id.
func (d dial) has(id string) bool { return slices.Contains(d.Channels, id) }

// expectDial requires acts to dial exactly the channels ids, resuming after message from (0: no mid).
func expectDial(t *testing.T, acts []Action, from int, ids ...string) dial {
	t.Helper()
	return checkDial(t, dialOf(t, requireAction[Connect](t, acts)), from, ids...)
}

// checkDial asserts that d subscribes exactly ids, resuming after message from (0: no mid).
func checkDial(t *testing.T, d dial, from int, ids ...string) dial {
	t.Helper()
	assert.Equal(t, ids, d.Channels, "the channels dialled")
	want := ""
	if from > 0 {
		want = mid(from)
	}
	assert.Equal(t, want, d.MID, "the position dialled from")
	return d
}

// dials returns every connection dialled so far.
func (h *harness) dials() []dial {
	var out []dial
	for _, c := range all[Connect](h.log) {
		out = append(out, dialOf(h.t, c))
	}
	return out
}

// loads counts the config loads asked for so far.
func (h *harness) loads() int { return len(all[LoadConfig](h.log)) }

// settles has connection d open and replay message n, sent to a rotated channel it carries while no
// one listened, then lastWord (that channel's channel_expire), which dials nothing; d then carries
// message next, and the connection after a drop subscribes exactly ids: the rotated channel is done.
func (h *harness) settles(d dial, n int, lastWord []byte, next int, ids ...string) {
	h.t.Helper()
	h.open(d.Gen)
	h.frame(d.Gen, msg(n))
	requireNo[Connect](h.t, h.frame(d.Gen, lastWord))
	h.frame(d.Gen, msg(next))
	h.expectRedial(d.Gen, ids...)
}

// joined has connection d open and carry message n, then checks that the connection after a drop
// subscribes the same channels: no rotated channel is left to read.
func (h *harness) joined(d dial, n int) {
	h.t.Helper()
	h.open(d.Gen)
	h.frame(d.Gen, msg(n))
	h.expectRedial(d.Gen, d.Channels...)
}

// expectRedial checks, by dropping connection gen, that the next connection subscribes exactly ids:
// the channels the machine is still responsible for.
func (h *harness) expectRedial(gen int, ids ...string) {
	h.t.Helper()
	assert.Equal(h.t, ids, h.redial(gen).Channels, "the connection after a drop")
}

// redial drops connection gen (without a close code, after it carried something or lived a while)
// and returns the next dial: it shows which channels the machine still reads, and from where.
func (h *harness) redial(gen int) dial {
	h.t.Helper()
	return dialOf(h.t, h.reconnect(gen))
}

// reconnect is redial's Connect, for what dial does not read (a version 5 token).
func (h *harness) reconnect(gen int) Connect {
	h.t.Helper()
	acts := h.drop(gen, 1006)
	if _, ok := find[Connect](acts); !ok {
		acts = h.advanceTo("reconnect")
	}
	return requireAction[Connect](h.t, acts)
}
