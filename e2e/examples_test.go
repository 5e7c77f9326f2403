//go:build !js

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/b24pull/b24pull/standin"
)

// The examples under examples/ are apps a user copies: each installs the package from the tarball
// scripts/pack.sh makes from a clean copy of the tree (dist/b24pull.tgz), as a user installs it from
// the registry, is built with its own bundler and served from 127.0.0.2, and runs inside the
// stand-in's portal page (on 127.0.0.1, another site, as a portal hosts an app) with the real
// B24Frame of @bitrix24/b24jssdk. Each must go online and show an event sent with
// pull.application.event.add.

// tarballFiles are exactly the files the package ships.
var tarballFiles = []string{
	"package/LICENSE", "package/README.md", "package/package.json", "package/b24pull.mjs",
	"package/b24pull.js", "package/b24pull.d.ts", "package/b24pull.wasm",
}

const (
	exampleInstall = 4 * time.Minute  // npm ci of one example, on a cold npm cache
	exampleBuild   = 2 * time.Minute  // one bundler run
	exampleOnline  = 45 * time.Second // the app in the frame going online
	exampleEvent   = 15 * time.Second // the published event shown by the app
)

func TestExamples(t *testing.T) {
	browser.Require(t)
	root, err := webdeps.RepoRoot()
	require.NoError(t, err)
	tarball := filepath.Join(root, "dist", "b24pull.tgz")
	wasm, err := os.ReadFile(filepath.Join(root, "js", "b24pull.wasm"))
	require.NoError(t, err, "the browser package is not built: run scripts/build-wasm.sh")
	shipped := readTarball(t, tarball)
	t.Run("tarball", func(t *testing.T) { checkTarball(t, root, shipped, wasm) })
	if t.Failed() {
		return
	}
	_, err = exec.LookPath("npm")
	require.NoError(t, err, "npm is needed to install the examples")

	ex := &examples{root: root, wasm: wasm}
	for _, name := range []string{"vite", "webpack", "vue-b24frame", "script-tag", "typescript"} {
		ex.install(t, name)
	}
	if t.Failed() {
		return
	}
	t.Run("typescript", func(t *testing.T) {
		ex.run(t, "typescript", exampleBuild, "npm", "run", "check")
	})

	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	ex.srv = srv
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	ex.browser = b

	for _, name := range []string{"vite", "webpack", "vue-b24frame"} {
		t.Run(name, func(t *testing.T) {
			ex.run(t, name, exampleBuild, "npm", "run", "build")
			ex.online(t, name, serveDir(t, filepath.Join(root, "examples", name, "dist"), ""))
		})
	}
	t.Run("script-tag", func(t *testing.T) {
		ex.online(t, "script-tag", serveDir(t, filepath.Join(root, "examples", "script-tag"), ""))
	})
	t.Run("vite-dev", func(t *testing.T) {
		ex.online(t, "vite-dev", ex.viteDev(t, "vite"))
	})
	// A wasm the server does not have: answered 404, or with the app's own page (the fallback of
	// single-page-app servers and dev servers). Both end in LOAD_FAILED naming the URL and the fix.
	for _, missing := range []string{"404", "html"} {
		t.Run("vite-wasm-"+missing, func(t *testing.T) {
			ex.loadFails(t, serveDir(t, filepath.Join(root, "examples", "vite", "dist"), missing))
		})
	}
}

// examples holds what the example runs share.
type examples struct {
	root    string
	wasm    []byte
	srv     *standin.Server
	browser *browser.Browser
}

// install runs npm ci in an example and checks that it installed the current package.
func (ex *examples) install(t *testing.T, name string) {
	t.Helper()
	ex.run(t, name, exampleInstall, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	installed, err := os.ReadFile(filepath.Join(ex.root, "examples", name, "node_modules", "b24pull", "b24pull.wasm"))
	if assert.NoError(t, err, "%s: b24pull was not installed", name) {
		assert.True(t, bytes.Equal(installed, ex.wasm), "%s: npm ci installed another b24pull than dist/b24pull.tgz holds (is there an integrity field for it in the lockfile?)", name)
	}
}

// run runs a command in an example's folder, bounded in time, and fails with its output.
func (ex *examples) run(t *testing.T, name string, limit time.Duration, command string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, command, args...)
	cmd.Dir = filepath.Join(ex.root, "examples", name)
	cmd.Env = append(os.Environ(), "CI=true", "NO_COLOR=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s %s:\n%s", name, command, strings.Join(args, " "), out)
	t.Logf("%s: %s %s in %v", name, command, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
}

// openApp opens the stand-in's portal page hosting appURL and returns the app's frame.
func (ex *examples) openApp(t *testing.T, ctx context.Context, appURL string) (*browser.Page, *browser.Page) {
	t.Helper()
	page, err := ex.browser.NewPage(ctx, ex.srv.PortalURL()+standin.PortalFramePath+"?url="+url.QueryEscape(appURL))
	require.NoError(t, err)
	t.Cleanup(page.Close)
	frame, err := page.Frame(ctx, strings.TrimSuffix(appURL, "/"), 20*time.Second)
	require.NoError(t, err)
	t.Cleanup(frame.Close)
	return page, frame
}

// online opens the app served at appURL inside the portal page, waits for it to go online, sends
// an event to the app's shared channel and waits for the app to show it.
func (ex *examples) online(t *testing.T, name, appURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	page, frame := ex.openApp(t, ctx, appURL)
	defer func() {
		if t.Failed() {
			t.Logf("portal console:\n%s\napp console:\n%s", strings.Join(page.Console(), "\n"), strings.Join(frame.Console(), "\n"))
		}
	}()
	err := frame.WaitFor(ctx, `document.querySelector('#status')?.textContent === 'online'`, exampleOnline)
	if err != nil {
		var shown string
		_ = frame.Eval(ctx, `document.querySelector('#status')?.textContent + ' ' + document.querySelector('#error')?.textContent`, &shown)
		require.NoError(t, err, "%s: the app shows %q", name, shown)
	}

	key := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	admin := ex.srv.NewToken(1, true)
	require.NoError(t, callREST(ctx, ex.srv.PortalURL(), "pull.application.event.add", admin,
		map[string]any{"COMMAND": "example_hello", "PARAMS": map[string]any{"key": key}}, nil))
	require.NoError(t, frame.WaitFor(ctx, fmt.Sprintf(
		`[...document.querySelectorAll('#events li')].some((li) => li.textContent === 'example_hello ' + JSON.stringify({key: %q}))`, key),
		exampleEvent), "%s: the event was not shown", name)

	// The wasm was compiled from a response typed application/wasm (the streaming compile).
	var wasmURLs []string
	require.NoError(t, frame.Eval(ctx, `performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\.wasm($|\?)/.test(n))`, &wasmURLs))
	if assert.Len(t, wasmURLs, 1, "%s: the app fetched the wasm once", name) {
		resp, err := http.Get(wasmURLs[0])
		if assert.NoError(t, err) {
			_ = resp.Body.Close()
			assert.Equal(t, "application/wasm", strings.Split(resp.Header.Get("Content-Type"), ";")[0], "%s: %s", name, wasmURLs[0])
		}
	}
	assert.Empty(t, frame.Exceptions(), "%s: uncaught in the app", name)
}

// loadFails opens an app whose wasm is not where the bundler put it and checks that it shows
// LOAD_FAILED with the URL and the fix, without hanging.
func (ex *examples) loadFails(t *testing.T, appURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, frame := ex.openApp(t, ctx, appURL)
	require.NoError(t, frame.WaitFor(ctx, `document.querySelector('#status')?.textContent === 'failed'`, exampleOnline))
	var shown string
	require.NoError(t, frame.Eval(ctx, `document.querySelector('#error').textContent`, &shown))
	assert.Regexp(t, `^LOAD_FAILED: b24pull: (failed to fetch )?`+regexp.QuoteMeta(appURL)+`assets/b24pull-[^ ]+\.wasm[ :]`, shown)
	assert.Contains(t, shown, "wasmUrl", "the message tells the fix")
}

// viteDev starts the Vite dev server of an example on 127.0.0.2 and returns its URL; it is stopped
// when the test ends.
func (ex *examples) viteDev(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	dir := filepath.Join(ex.root, "examples", name)
	cmd := exec.Command(filepath.Join(dir, "node_modules", ".bin", "vite"), "--host", "127.0.0.2", "--port", fmt.Sprint(port), "--strictPort")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CI=true", "NO_COLOR=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("vite dev server:\n%s", out.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.2:%d/", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("the vite dev server exited:\n%s", out.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "the vite dev server did not answer within 30 s:\n%s", out.String())
		time.Sleep(100 * time.Millisecond)
	}
}

// serveDir serves a folder on 127.0.0.2 with the Content-Types browsers need, not cached. With
// missingWasm "404" every .wasm is answered 404; with "html" the index page is answered instead,
// as single-page-app servers answer paths they do not have.
func serveDir(t *testing.T, dir, missingWasm string) string {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(t, err)
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			switch missingWasm {
			case "404":
				http.NotFound(w, r)
				return
			case "html":
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				http.ServeFile(w, r, filepath.Join(dir, "index.html"))
				return
			}
		}
		if !strings.HasSuffix(r.URL.Path, "/") {
			w.Header().Set("Content-Type", webdeps.ContentType(r.URL.Path))
		}
		files.ServeHTTP(w, r)
	}))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// readTarball returns the files of an npm tarball by name.
func readTarball(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err, "no tarball: run scripts/pack.sh (make test does)")
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		data, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		require.NoError(t, err)
		files[h.Name] = data
	}
	return files
}

// checkTarball checks what the package ships: exactly its files, the wasm of the current build, one
// module carrying the runtime, and the version of package.json everywhere it is shown.
func checkTarball(t *testing.T, root string, files map[string][]byte, wasm []byte) {
	var names []string
	for name := range files {
		names = append(names, name)
	}
	assert.ElementsMatch(t, tarballFiles, names)
	assert.True(t, bytes.Equal(files["package/b24pull.wasm"], wasm), "dist/b24pull.tgz holds another wasm than js/: run scripts/pack.sh")

	pkg, err := os.ReadFile(filepath.Join(root, "js", "package.json"))
	require.NoError(t, err)
	assert.Equal(t, string(pkg), string(files["package/package.json"]))
	version := regexp.MustCompile(`"version": "([^"]+)"`).FindSubmatch(pkg)
	require.NotNil(t, version)
	module, script := string(files["package/b24pull.mjs"]), string(files["package/b24pull.js"])
	assert.Contains(t, module, "export const version = '"+string(version[1])+"';")
	assert.Contains(t, script, "const version = '"+string(version[1])+"';")
	assert.Contains(t, string(wasm), string(version[1]), "the wasm is stamped with the version")
	for _, js := range []string{module, script} {
		assert.Contains(t, js, "globalThis.Go = class", "the Go runtime is inlined")
		assert.NotContains(t, js, "wasm_exec.js'", "no second script is loaded")
	}
	assert.Equal(t, 1, strings.Count(module, "import.meta"), "import.meta only in the literal wasm URL")
	assert.Contains(t, module, "new URL('./b24pull.wasm', import.meta.url)")
	assert.True(t, strings.HasPrefix(string(files["package/LICENSE"]), "MIT License"), "the licence is MIT")
	assert.Contains(t, string(files["package/README.md"]), "npm install b24pull")
}
