//go:build !js

package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// testTimeout bounds every wait in the tests.
const testTimeout = 5 * time.Second

// fakeClock is a settable clock for the portal and the store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startServer starts a stand-in closed at the end of the test.
func startServer(t *testing.T, opts Options, tu tuning) *Server {
	t.Helper()
	s, err := start(opts, tu)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// testClient is the HTTP client of the tests; its idle connections are closed by TestMain.
var testClient = &http.Client{Timeout: 2 * testTimeout}

// rest posts a form-encoded REST call and returns the status and the parsed answer.
func rest(t *testing.T, s *Server, method string, form url.Values) (int, gjson.Result) {
	t.Helper()
	resp, err := testClient.PostForm(s.PortalURL()+"/rest/"+method+".json", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.True(t, gjson.ValidBytes(body), "answer is not JSON: %s", body)
	return resp.StatusCode, gjson.ParseBytes(body)
}

// restJSON posts a JSON REST call.
func restJSON(t *testing.T, s *Server, method string, params any) (int, gjson.Result) {
	t.Helper()
	data, err := json.Marshal(params)
	require.NoError(t, err)
	resp, err := testClient.Post(s.PortalURL()+"/rest/"+method+".json", "application/json", bytes.NewReader(data))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, gjson.ParseBytes(body)
}

// appConfig fetches pull.application.config.get for token and returns its result.
func appConfig(t *testing.T, s *Server, token string) gjson.Result {
	t.Helper()
	status, answer := rest(t, s, "pull.application.config.get", url.Values{"auth": {token}, "CACHE": {"N"}})
	require.Equal(t, http.StatusOK, status, answer.Raw)
	return answer.Get("result")
}

// subQuery builds the connection query of a config the way the clients do (docs/protocol.md §4).
func subQuery(cfg gjson.Result, extra url.Values) url.Values {
	q := url.Values{}
	if jwt := cfg.Get("jwt").String(); jwt != "" {
		q.Set("token", jwt)
		q.Set("jsonRpc", "true")
	} else {
		var ids []string
		for _, k := range []string{"private", "shared"} {
			if id := cfg.Get("channels." + k + ".id").String(); id != "" {
				ids = append(ids, id)
			}
		}
		q.Set("CHANNEL_ID", strings.Join(ids, "/"))
	}
	if cid := cfg.Get("clientId").String(); cid != "" {
		q.Set("clientId", cid)
	}
	q.Set("revision", "19")
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// wsURL is the websocket URL of the push server with query q.
func wsURL(s *Server, q url.Values) string {
	return "ws" + strings.TrimPrefix(s.PushURL(), "http") + "/bitrix/subws/?" + q.Encode()
}

// lpURL is the long-polling URL of the push server with query q.
func lpURL(s *Server, q url.Values) string {
	return s.PushURL() + "/bitrix/sub/?" + q.Encode()
}

type wsFrame struct {
	typ  websocket.MessageType
	data []byte
}

// wsClient reads a websocket on a goroutine of its own, so tests can wait for frames with a timeout
// without closing the connection.
type wsClient struct {
	conn   *websocket.Conn
	frames chan wsFrame
	done   chan struct{}
	err    error // valid once done is closed
}

// dial opens a websocket or fails the test.
func dial(t *testing.T, rawURL string) *wsClient {
	t.Helper()
	c, resp, err := tryDial(rawURL)
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("handshake refused: %d %s", resp.StatusCode, body)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.conn.CloseNow(); <-c.done })
	return c
}

// tryDial opens a websocket and starts its reader.
func tryDial(rawURL string) (*wsClient, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, rawURL, &websocket.DialOptions{HTTPClient: testClient})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(64 << 20)
	c := &wsClient{conn: conn, frames: make(chan wsFrame, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			typ, data, err := conn.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			c.frames <- wsFrame{typ, data}
		}
	}()
	return c, resp, nil
}

// next returns the next frame, failing the test after testTimeout.
func (c *wsClient) next(t *testing.T) wsFrame {
	t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		t.Fatalf("connection ended while a frame was expected: %v", c.err)
	case <-time.After(testTimeout):
		t.Fatal("no frame within the timeout")
	}
	return wsFrame{}
}

// nextData returns the next frame that is not a JSON-RPC ping.
func (c *wsClient) nextData(t *testing.T) wsFrame {
	t.Helper()
	for {
		f := c.next(t)
		if string(f.data) != "ping" {
			return f
		}
	}
}

// quiet asserts that no frame arrives within d.
func (c *wsClient) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f := <-c.frames:
		t.Fatalf("unexpected frame: %q", f.data)
	case <-time.After(d):
	}
}

// ended waits until the connection ends and returns the read error.
func (c *wsClient) ended(t *testing.T) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(2 * testTimeout):
		t.Fatal("connection did not end")
		return nil
	}
}

func (c *wsClient) send(t *testing.T, typ websocket.MessageType, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.NoError(t, c.conn.Write(ctx, typ, data))
}

// waitFor polls cond until it holds, failing the test after testTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pubText publishes body to raw channel ids through the trusted text route.
func pubText(t *testing.T, s *Server, channels string, body string, expiry int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.PushURL()+"/bitrix/pub/?CHANNEL_ID="+url.QueryEscape(channels), strings.NewReader(body))
	require.NoError(t, err)
	if expiry >= 0 {
		req.Header.Set("Message-Expiry", itoa(expiry))
	}
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func itoa(n int) string { return strconv.Itoa(n) }

// get performs a GET and returns status, headers and body.
func get(t *testing.T, rawURL string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := testClient.Get(rawURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, body
}

// rawIDs returns the raw ids of a config: private, public, shared.
func rawIDs(cfg gjson.Result) (priv, pub, shared string) {
	p := cfg.Get("channels.private.id").String()
	if i := strings.IndexByte(p, '.'); i > 0 {
		p = p[:i]
	}
	priv, pub, _ = strings.Cut(p, ":")
	shared, _, _ = strings.Cut(cfg.Get("channels.shared.id").String(), ".")
	return priv, pub, shared
}
