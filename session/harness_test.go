package session

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
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
}

func defaultSpec() cfgSpec {
	return cfgSpec{version: 4, wsEnabled: true, start: t0, lifetime: 12 * time.Hour, private: privID, shared: sharedID}
}

func (s cfgSpec) json(now time.Time) string {
	end := s.start.Add(s.lifetime).Format(time.RFC3339)
	start := s.start.Format(time.RFC3339)
	channels := map[string]any{}
	if s.shared != "" {
		channels["shared"] = map[string]any{"id": s.shared, "start": start, "end": end, "type": "shared"}
	}
	if s.private != "" && s.version < 5 {
		channels["private"] = map[string]any{"id": s.private, "public_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0.38cdc8da33eb1639e59ace48b468e17fe48b8746",
			"start": start, "end": end, "type": "private"}
	}
	res := map[string]any{
		"server": map[string]any{"version": s.version, "server_enabled": true, "mode": "personal",
			"long_polling": "http://push.test/bitrix/sub/", "long_pooling_secure": "https://push.test/bitrix/sub/",
			"websocket_enabled": s.wsEnabled, "websocket": "ws://push.test/bitrix/subws/", "websocket_secure": "wss://push.test/bitrix/subws/",
			"publish_enabled": s.version > 3, "publish": "http://push.test/bitrix/pub/", "publish_secure": "https://push.test/bitrix/pub/",
			"config_timestamp": 1747000000},
		"api":        map[string]any{"revision_web": 19, "revision_mobile": 3},
		"channels":   channels,
		"serverTime": now.Add(s.serverShift).Format(time.RFC3339),
	}
	if s.version >= 5 {
		res["jwt"] = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"
		res["exp"] = s.start.Add(s.lifetime).Unix()
	}
	b, _ := json.Marshal(map[string]any{"result": res})
	return string(b)
}

// harness drives a Machine on a fake clock.
type harness struct {
	t   *testing.T
	m   *Machine
	now time.Time
	u   float64 // the value Rand returns
}

func newHarness(t *testing.T, opts Options) *harness {
	h := &harness{t: t, now: t0, u: 0}
	opts.Rand = func() float64 { return h.u }
	h.m = New(opts)
	return h
}

func (h *harness) config(s cfgSpec) *protocol.Config {
	cfg, err := protocol.ParseConfig([]byte(s.json(h.now)), h.now)
	require.NoError(h.t, err)
	return cfg
}

func (h *harness) advance(d time.Duration) []Action {
	h.now = h.now.Add(d)
	return h.m.Tick(h.now)
}

// start runs Start → config → open and returns the generation of the open connection.
func (h *harness) start(s cfgSpec) int {
	acts := h.m.Start(h.now)
	requireAction[LoadConfig](h.t, acts)
	acts = h.m.ConfigLoaded(h.config(s), h.now)
	c := requireAction[Connect](h.t, acts)
	acts = h.m.Opened(c.Gen, h.now)
	done := requireAction[StartDone](h.t, acts)
	require.NoError(h.t, done.Err)
	require.Equal(h.t, StatusOnline, h.m.Status())
	return c.Gen
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
