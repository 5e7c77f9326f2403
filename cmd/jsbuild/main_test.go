package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fakeRuntime = "\"use strict\";\n(() => {\n\tglobalThis.Go = class { run() {} };\n})();\n"

func goodSource() string {
	return runtimeMarker + "\n" + versionLine + "\nconst u = () => " + wasmLiteral + ".href;\n" +
		exportDecl + "o) { return u(); }\n"
}

func TestBuildModule(t *testing.T) {
	t.Parallel()
	good := goodSource()
	tests := []struct {
		name    string
		src     string
		runtime string
		wantErr string
	}{
		{"good", good, fakeRuntime, ""},
		{"no marker", strings.Replace(good, runtimeMarker, "", 1), fakeRuntime, "exactly one"},
		{"two markers", runtimeMarker + "\n" + good, fakeRuntime, "exactly one"},
		{"no version line", strings.Replace(good, versionLine, "", 1), fakeRuntime, "exactly one"},
		{"no wasm literal", strings.Replace(good, wasmLiteral, "new URL('x', location.href)", 1), fakeRuntime, "exactly one"},
		{"a variable wasm URL", good + "const v = new URL(name, import.meta.url);\n", fakeRuntime, "import.meta may appear only"},
		{"no export", strings.Replace(good, exportDecl, plainDecl, 1), fakeRuntime, "exactly one"},
		{"a runtime without Go", good, "(() => {})();\n", "define globalThis.Go once"},
		{"one export list", good + "export { A, B };\n", fakeRuntime, ""},
		{"two export lists", good + "export { A };\nexport { B };\n", fakeRuntime, "at most one export list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := buildModule(tc.src, tc.runtime, "1.2.3", "m.mjs")
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, out, "export const version = '1.2.3';")
			assert.Contains(t, out, "const Go = (() => {")
			assert.Contains(t, out, "globalThis.Go = class")
			assert.NotContains(t, out, runtimeMarker)
			assert.Equal(t, 1, strings.Count(out, "import.meta"))
		})
	}
}

func TestClassic(t *testing.T) {
	t.Parallel()
	module, err := buildModule(goodSource(), fakeRuntime, "1.2.3", "m.mjs")
	require.NoError(t, err)
	out, err := classic(module, "m.mjs")
	require.NoError(t, err)
	assert.Contains(t, out, classicBase)
	assert.Contains(t, out, classicWasm)
	assert.Contains(t, out, plainDecl)
	assert.Contains(t, out, "const version = '1.2.3';")
	assert.NotContains(t, out, "export ")
	assert.NotContains(t, out, "import.meta")
	assert.Contains(t, out, "globalThis.B24Pull = Object.freeze({ createPullClient, version });")

	withList, err := buildModule(goodSource()+"const A = 1, $b = 2;\nexport { A, $b };\n", fakeRuntime, "1.2.3", "m.mjs")
	require.NoError(t, err)
	assert.Contains(t, withList, "export { A, $b };", "the module keeps its export list")
	out, err = classic(withList, "m.mjs")
	require.NoError(t, err)
	assert.NotContains(t, out, "export ")
	assert.Contains(t, out, "globalThis.B24Pull = Object.freeze({ createPullClient, version, A, $b });")
	assert.Contains(t, out, "it sets globalThis.B24Pull = {createPullClient, version, A, $b}.")

	_, err = classic(module+"export const y = 2;\n", "m.mjs")
	require.ErrorContains(t, err, "cannot hold")
	_, err = classic(module+"export { A as B };\n", "m.mjs")
	require.ErrorContains(t, err, "cannot hold", "only a plain list of names is published")
	_, err = classic("import x from './x.js';\n"+module, "m.mjs")
	require.ErrorContains(t, err, "line 1")
}

func TestPackageVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	v, err := packageVersion(write("ok.json", `{"name":"b24pull","version":"0.2.0-rc.1"}`))
	require.NoError(t, err)
	assert.Equal(t, "0.2.0-rc.1", v)
	_, err = packageVersion(write("none.json", `{"name":"b24pull"}`))
	require.ErrorContains(t, err, "not a version")
	_, err = packageVersion(write("quote.json", `{"version":"1'; alert(1); '"}`))
	require.ErrorContains(t, err, "not a version")
	_, err = packageVersion(write("bad.json", `{`))
	require.ErrorContains(t, err, "failed to parse")
}

// TestRealSource builds the shipped source with this toolchain's runtime; node, when present, checks
// that both outputs parse and that the classic script leaves Go where it was.
func TestRealSource(t *testing.T) {
	t.Parallel()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err)
	runtime := filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js")
	dir := t.TempDir()
	module, script := filepath.Join(dir, "b24pull.mjs"), filepath.Join(dir, "b24pull.js")
	js := filepath.Join("..", "..", "js")
	require.NoError(t, run(filepath.Join(js, "src", "b24pull.mjs"), runtime, filepath.Join(js, "package.json"), module, script))
	got, err := os.ReadFile(script)
	require.NoError(t, err)
	assert.Contains(t, string(got), "globalThis.B24Pull")
	if _, err := exec.LookPath("node"); err != nil {
		t.Log("node not found: the outputs were not parsed")
		return
	}
	for _, f := range []string{module, script} {
		out, err := exec.Command("node", "--check", f).CombinedOutput()
		assert.NoError(t, err, "%s: %s", f, out)
	}
	// The classic script runs in node far enough to define its runtime; document is missing there, so
	// it must not throw before publishing, and it must leave globalThis.Go as it found it.
	probe := `globalThis.location = {href: 'http://127.0.0.1/app/'}; globalThis.Go = 'theirs';
require(process.argv[1]);
if (globalThis.Go !== 'theirs') throw new Error('Go was replaced: ' + typeof globalThis.Go);
if (typeof B24Pull.createPullClient !== 'function' || typeof B24Pull.version !== 'string') throw new Error('B24Pull incomplete');`
	out, err := exec.Command("node", "-e", probe, script).CombinedOutput()
	assert.NoError(t, err, "%s", out)
}
