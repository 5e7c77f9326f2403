//go:build !js

package browser

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testPage = `<!doctype html>
<title>browser test</title>
<script>
console.log('hello', 42, {a: 1});
console.warn('careful');
console.error('failed: ws://127.0.0.1:9/sub/?CHANNEL_ID=deadbeef.sig');
window.ready = false;
setTimeout(() => { window.ready = true; }, 200);
</script>
<script>throw new Error('boom at load');</script>
<script>Promise.reject(new Error('rejected at load'));</script>
`

// newLoopbackServer serves testPage on 127.0.0.1 only.
func newLoopbackServer(t *testing.T) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(testPage))
	}))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowser(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	b, err := Launch(context.Background(), t, Options{Headless: true})
	require.NoError(t, err)
	srv := newLoopbackServer(t)

	p, err := b.NewPage(ctx, srv.URL+"/page?secret=abc")
	require.NoError(t, err)

	t.Run("eval", func(t *testing.T) {
		tests := []struct {
			name string
			expr string
			want any
			into func() any
		}{
			{"number", `1 + 2`, 3.0, func() any { return new(float64) }},
			{"string", `'a' + 'b'`, "ab", func() any { return new(string) }},
			{"promise", `new Promise(r => setTimeout(() => r({n: 7}), 10))`, map[string]any{"n": 7.0},
				func() any { return new(map[string]any) }},
			{"undefined as null", `undefined`, (*int)(nil), func() any { return new(*int) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out := tt.into()
				require.NoError(t, p.Eval(ctx, tt.expr, out))
				switch v := out.(type) {
				case *float64:
					assert.Equal(t, tt.want, *v)
				case *string:
					assert.Equal(t, tt.want, *v)
				case *map[string]any:
					assert.Equal(t, tt.want, *v)
				case **int:
					assert.Equal(t, tt.want, *v)
				}
			})
		}
		require.NoError(t, p.Eval(ctx, `void 0`, nil))
	})

	t.Run("eval errors", func(t *testing.T) {
		err := p.Eval(ctx, `(() => { throw new Error('thrown in eval') })()`, nil)
		require.Error(t, err)
		err = p.Eval(ctx, `Promise.reject(new Error('no'))`, nil)
		require.Error(t, err)
		var n int
		err = p.Eval(ctx, `'not a number'`, &n)
		require.Error(t, err)
	})

	t.Run("wait", func(t *testing.T) {
		require.NoError(t, p.WaitFor(ctx, `window.ready === true`, 5*time.Second))
		require.NoError(t, p.Eval(ctx, `console.log('before timeout')`, nil))
		err := p.WaitFor(ctx, `window.never === true`, 300*time.Millisecond)
		require.ErrorIs(t, err, ErrWaitTimeout)
		assert.Contains(t, err.Error(), "log: before timeout")
	})

	t.Run("console", func(t *testing.T) {
		require.NoError(t, p.Eval(ctx, `console.error('from eval')`, nil))
		lines := p.Console()
		assert.Contains(t, lines, "log: hello 42 Object")
		assert.Contains(t, lines, "warning: careful")
		assert.Contains(t, lines, "error: from eval")
		assert.Contains(t, lines, "error: failed: ws://127.0.0.1:9/sub/?…")
		for _, l := range lines {
			assert.NotContains(t, l, "secret=abc", "a URL query reached the console capture")
			assert.NotContains(t, l, "deadbeef", "a URL query reached the console capture")
		}
	})

	t.Run("exceptions", func(t *testing.T) {
		ex := p.Exceptions()
		require.Len(t, ex, 2, "exceptions: %q", ex)
		assert.Contains(t, ex[0], "Uncaught Error: boom at load")
		assert.Contains(t, ex[1], "rejected at load")
		assert.Contains(t, strings.Join(p.Console(), "\n"), "exception: Uncaught Error: boom at load")
	})

	t.Run("data url and screenshot", func(t *testing.T) {
		dp, err := b.NewPage(ctx, `data:text/html,<h1 id="x">hi</h1><script>console.info('data page')</script>`)
		require.NoError(t, err)
		defer dp.Close()
		var text string
		require.NoError(t, dp.Eval(ctx, `document.getElementById('x').textContent`, &text))
		assert.Equal(t, "hi", text)
		assert.Equal(t, []string{"info: data page"}, dp.Console())
		assert.Empty(t, dp.Exceptions())

		path := filepath.Join(t.TempDir(), "shot.png")
		require.NoError(t, dp.Screenshot(ctx, path))
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(data), "\x89PNG"), "not a PNG")
	})

	t.Run("cancelled context", func(t *testing.T) {
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		err := p.Eval(cctx, `1`, nil)
		require.Error(t, err)
		assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
		// The page survives a cancelled step.
		var n int
		require.NoError(t, p.Eval(ctx, `5`, &n))
		assert.Equal(t, 5, n)
	})

	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "second Close")
}

func TestNetworkDomainOff(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Launch(context.Background(), t, Options{NetworkDomainOff: true})
	require.NoError(t, err)
	p, err := b.NewPage(ctx, `data:text/html,<p>ok</p>`)
	require.NoError(t, err)
	var s string
	require.NoError(t, p.Eval(ctx, `document.body.textContent`, &s))
	assert.Equal(t, "ok", s)
}

// TestFrame finds an app iframe of another site (127.0.0.2) inside a page on 127.0.0.1 and
// evaluates inside it, as the examples' tests do with an app inside the stand-in's portal page.
func TestFrame(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<!doctype html><script>window.where = location.search; console.log('in the app');</script>`))
	}))
	app.Listener = ln
	app.Start()
	t.Cleanup(app.Close)
	parent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<!doctype html><iframe src="` + app.URL + `/app?DOMAIN=x"></iframe>`))
	}))
	t.Cleanup(parent.Close)

	b, err := Launch(context.Background(), t, Options{})
	require.NoError(t, err)
	p, err := b.NewPage(ctx, parent.URL)
	require.NoError(t, err)
	f, err := p.Frame(ctx, app.URL+"/app", 10*time.Second)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.WaitFor(ctx, `window.where !== undefined`, 5*time.Second))
	var where string
	require.NoError(t, f.Eval(ctx, `window.where`, &where))
	assert.Equal(t, "?DOMAIN=x", where)

	_, err = p.Frame(ctx, "http://127.0.0.3:1/none", 300*time.Millisecond)
	require.ErrorIs(t, err, ErrWaitTimeout)
	require.NoError(t, b.Close())
}

func TestNoise(t *testing.T) {
	tests := []struct {
		line  string
		noise bool
	}{
		{"could not unmarshal event: unknown IPAddressSpace value: Loopback", true},
		{"/usr/bin/chromium: 9: [: /dev/shm: unexpected operator", true},
		{"log: hello", false},
		{"error: failed to load resource", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.noise, IsNoise(tt.line), tt.line)
	}
	var got []string
	logf := filteredLogf(func(f string, a ...any) { got = append(got, f) })
	w := &lineWriter{logf: logf, prefix: "c: "}
	_, err := w.Write([]byte("first line\nunknown IPAddressSpace value\npart"))
	require.NoError(t, err)
	_, err = w.Write([]byte("ial\n"))
	require.NoError(t, err)
	assert.Len(t, got, 2)
}

func TestRedactURL(t *testing.T) {
	assert.Equal(t, "ws://h/sub/?…", redactURL("ws://h/sub/?CHANNEL_ID=abc"))
	assert.Equal(t, "http://h/x", redactURL("http://h/x"))
	assert.Equal(t,
		"error: WebSocket connection to 'ws://127.0.0.1:1/bitrix/subws/?…' failed; see https://x/y?…",
		redactURLs("error: WebSocket connection to 'ws://127.0.0.1:1/bitrix/subws/?token=eyJ.a.b&mid=1' failed; see https://x/y?q=1"))
}

func TestAvailable(t *testing.T) {
	t.Setenv(EnvPath, filepath.Join(t.TempDir(), "missing"))
	path, ok := Available()
	assert.False(t, ok)
	assert.Contains(t, path, "missing")
	_, err := Launch(context.Background(), nil, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ensure-chromium.sh")
}
