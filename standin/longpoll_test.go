//go:build !js

package standin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/b24pull/b24pull/protocol"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureHeaders reads a recorded header file.
type fixtureHeaders struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
}

func readFixtureHeaders(t *testing.T, name string) fixtureHeaders {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var f fixtureHeaders
	require.NoError(t, json.Unmarshal(data, &f))
	return f
}

// assertFixtureHeaders compares status and every recorded header except the per-connection ones
// Node writes (date, connection, keep-alive, transfer-encoding).
func assertFixtureHeaders(t *testing.T, want fixtureHeaders, status int, h http.Header, except ...string) {
	t.Helper()
	assert.Equal(t, want.Status, status)
	skip := map[string]bool{"date": true, "connection": true, "keep-alive": true, "transfer-encoding": true}
	for _, e := range except {
		skip[e] = true
	}
	for k, v := range want.Headers {
		if skip[k] {
			continue
		}
		assert.Equal(t, v, h.Get(k), k)
	}
}

// pollAsync starts a long poll and returns its result channel.
type lpResult struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func pollAsync(rawURL string) <-chan lpResult {
	out := make(chan lpResult, 1)
	go func() {
		resp, err := testClient.Get(rawURL)
		if err != nil {
			out <- lpResult{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		out <- lpResult{status: resp.StatusCode, header: resp.Header, body: body, err: err}
	}()
	return out
}

func awaitPoll(t *testing.T, ch <-chan lpResult) lpResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(2 * testTimeout):
		t.Fatal("long poll did not end")
		return lpResult{}
	}
}

func TestLongPollIdle304(t *testing.T) {
	t.Parallel()
	want := readFixtureHeaders(t, "lp-idle-304.headers.json")
	s := startServer(t, Options{LongPollHold: 50 * time.Millisecond}, tuning{})
	cfg := appConfig(t, s, s.NewToken(1, false))

	mid := want.Headers["last-message-id"]
	status, h, body := get(t, lpURL(s, subQuery(cfg, url.Values{"mid": {mid}})))
	assertFixtureHeaders(t, want, status, h)
	assert.Empty(t, body)

	status, h, _ = get(t, lpURL(s, subQuery(cfg, nil)))
	assert.Equal(t, http.StatusNotModified, status)
	assert.Equal(t, "", h.Get("Last-Message-Id"), "nothing stored, no mid")
	assert.Equal(t, lpExpires, h.Get("Expires"))

	require.NoError(t, s.Publish(nil, "", "stored", nil))
	require.NoError(t, s.Publish([]int{1}, "", "stored2", nil))
	status, _, body = get(t, lpURL(s, subQuery(cfg, url.Values{"mid": {"00000000000000000000000000"}})))
	require.Equal(t, http.StatusOK, status)
	newest := protocol.DecodeText(body).Messages[1].MID
	status, h, _ = get(t, lpURL(s, subQuery(cfg, nil)))
	assert.Equal(t, http.StatusNotModified, status)
	assert.Equal(t, newest, h.Get("Last-Message-Id"), "newest stored id of the channels")
}

func TestLongPollDelivery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		version int
		extra   url.Values
		fixture string
	}{
		{"v3", 3, nil, "lp-text-200.headers.json"},
		{"v4 text", 4, nil, "lp-text-200.headers.json"},
		{"v4 binary", 4, url.Values{"binaryMode": {"true"}}, "lp-binary-200.headers.json"},
		{"v5", 5, nil, "lp-text-200.headers.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := readFixtureHeaders(t, tc.fixture)
			mode := modeOf(tc.version, tc.extra)
			s := startServer(t, Options{Version: tc.version}, tuning{})
			cfg := appConfig(t, s, s.NewToken(3, false))

			// A live message completes a held poll at once.
			ch := pollAsync(lpURL(s, subQuery(cfg, tc.extra)))
			waitFor(t, "poll held", func() bool { return s.Stats().LongPollsPending == 1 })
			require.NoError(t, s.Publish([]int{3}, "", "live", nil))
			r := awaitPoll(t, ch)
			require.NoError(t, r.err)
			assertFixtureHeaders(t, want, r.status, r.header)
			b := decode(t, mode, wsFrame{typ: frameType(mode), data: r.body})
			require.Len(t, b.Messages, 1)
			assert.Equal(t, "live", b.Messages[0].Command)

			// Messages published between polls are replayed to the next poll with the mid.
			require.NoError(t, s.Publish([]int{3}, "", "gap1", nil))
			require.NoError(t, s.Publish(nil, "", "gap2", nil))
			status, h, body := get(t, lpURL(s, subQuery(cfg, mergeValues(tc.extra, url.Values{"mid": {b.Messages[0].MID}}))))
			assertFixtureHeaders(t, want, status, h)
			b = decode(t, mode, wsFrame{typ: frameType(mode), data: body})
			require.Len(t, b.Messages, 2)
			assert.Equal(t, "gap1", b.Messages[0].Command)
			assert.Equal(t, "gap2", b.Messages[1].Command)
			assert.Equal(t, int64(0), s.Stats().LongPollsPending)
		})
	}
}

func TestLongPollErrorsAndPreflight(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	cfg := appConfig(t, s, s.NewToken(1, false))
	bad := subQuery(cfg, nil)
	bad.Set("CHANNEL_ID", bad.Get("CHANNEL_ID")+"/"+strings.Repeat("0", 32)+"."+strings.Repeat("0", 40))
	for _, q := range []url.Values{bad, {}} {
		status, h, body := get(t, lpURL(s, q))
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "4010: Wrong Channel Id.", string(body))
		assert.Equal(t, "*", h.Get("Access-Control-Allow-Origin"))
	}

	v3 := startServer(t, Options{Version: 3}, tuning{})
	status, _, body := get(t, lpURL(v3, url.Values{}))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "No channel id provided.", string(body))
	status, _, body = get(t, lpURL(v3, url.Values{"CHANNEL_ID": {strings.Repeat("a", 32) + "." + strings.Repeat("b", 40)}}))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "Channel id is not correct.", string(body))

	req, err := http.NewRequest(http.MethodOptions, s.PushURL()+"/bitrix/sub/", nil)
	require.NoError(t, err)
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "POST, GET, DELETE, OPTIONS", resp.Header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "If-Modified-Since, If-None-Match", resp.Header.Get("Access-Control-Allow-Headers"))

	// The websocket route serves long polling too when there is no upgrade.
	require.NoError(t, s.Publish(nil, "", "stored", nil))
	status, _, body = get(t, s.PushURL()+"/bitrix/subws/?"+subQuery(cfg, url.Values{"mid": {"00000000000000000000000000"}}).Encode())
	assert.Equal(t, http.StatusOK, status)
	assert.Len(t, protocol.DecodeText(body).Messages, 1)
}

func TestLongPollFaults(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	cfg := appConfig(t, s, s.NewToken(1, false))
	held := func() <-chan lpResult {
		before := s.Stats().LongPolls
		ch := pollAsync(lpURL(s, subQuery(cfg, nil)))
		waitFor(t, "poll held", func() bool { return s.Stats().LongPolls > before && s.Stats().LongPollsPending == 1 })
		return ch
	}

	ch := held()
	s.CloseConnections(4029, "Too many connections")
	r := awaitPoll(t, ch)
	assert.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "4029: Too many connections", string(r.body))

	ch = held()
	s.CloseConnections(4000, "ok")
	r = awaitPoll(t, ch)
	assert.Equal(t, http.StatusOK, r.status, "4000 maps to 200")

	ch = held()
	s.SendGarbage()
	r = awaitPoll(t, ch)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, 1, protocol.DecodeText(r.body).Garbage)

	ch = held()
	s.SendOversized(5000)
	r = awaitPoll(t, ch)
	assert.Len(t, r.body, 5000)

	ch = held()
	s.DuplicateNext(1)
	require.NoError(t, s.Publish([]int{1}, "", "dup", nil))
	r = awaitPoll(t, ch)
	b := protocol.DecodeText(r.body)
	require.Len(t, b.Messages, 2)
	assert.Equal(t, b.Messages[0].MID, b.Messages[1].MID)

	// A fresh connection, so the client cannot retry the GET on another one.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * testTimeout}
	dropped := make(chan lpResult, 1)
	before := s.Stats().LongPolls
	go func() {
		resp, err := fresh.Get(lpURL(s, subQuery(cfg, nil)))
		if err == nil {
			resp.Body.Close()
		}
		dropped <- lpResult{err: err}
	}()
	waitFor(t, "poll held", func() bool { return s.Stats().LongPolls > before && s.Stats().LongPollsPending == 1 })
	s.DropConnections()
	r = awaitPoll(t, dropped)
	assert.Error(t, r.err, "dropped without an answer")
}

func frameType(mode wireMode) websocket.MessageType {
	if mode == wireBinary {
		return websocket.MessageBinary
	}
	return websocket.MessageText
}
