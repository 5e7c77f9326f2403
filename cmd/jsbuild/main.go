// Command jsbuild writes the two JavaScript entry points of the npm package from one hand-written
// source, js/src/b24pull.mjs: the ES module js/b24pull.mjs and the classic script js/b24pull.js.
//
//	go run ./cmd/jsbuild -runtime "$(go env GOROOT)/lib/wasm/wasm_exec.js" [-src …] [-package …] [-module …] [-script …]
//
// Both outputs carry the Go toolchain's wasm_exec.js in place of the source's runtime marker line, so
// that the package needs no second script URL (which no bundler could follow) and the runtime always
// matches the wasm built by the same toolchain. Its Go class stays private to b24pull: whatever
// globalThis.Go held before is put back. The version line takes the version of package.json, the one
// place it is written.
//
// The source must hold exactly one of each: the marker line, the version line, the literal
// `new URL('./b24pull.wasm', import.meta.url)` (the form bundlers rewrite; no other import.meta, which
// webpack would freeze to a file: URL), and `export async function createPullClient(`. It may hold
// one export list line, `export { A, B };`, for values both entry points publish (the runtime
// enums). The classic script resolves the wasm against the script element's URL, loses the exports
// and publishes globalThis.B24Pull = {createPullClient, version, A, B}; any other import or export
// fails the build.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
)

const (
	runtimeMarker = "// b24pull:wasm_exec"
	versionLine   = "export const version = '0.0.0-dev';"
	wasmLiteral   = "new URL('./b24pull.wasm', import.meta.url)"
	exportDecl    = "export async function createPullClient("
	plainDecl     = "async function createPullClient("

	// classicWasm resolves the wasm against the script element that is running (read while the script
	// runs, as currentScript is null later), or against the worker's or page's location.
	classicBase = "const scriptBase = (typeof document !== 'undefined' && document.currentScript && document.currentScript.src) || globalThis.location.href;"
	classicWasm = "new URL('./b24pull.wasm', scriptBase)"
)

var (
	leftover    = regexp.MustCompile(`(?m)^\s*export\s|import\.meta|^\s*import\s`)
	exportList  = regexp.MustCompile(`(?m)^export \{ ([A-Za-z_$][\w$]*(?:, [A-Za-z_$][\w$]*)*) \};\n`)
	versionForm = regexp.MustCompile(`^[0-9A-Za-z.+-]+$`)
)

func main() {
	src := flag.String("src", "js/src/b24pull.mjs", "the hand-written source")
	runtime := flag.String("runtime", "", "the Go toolchain's wasm_exec.js (required)")
	pkg := flag.String("package", "js/package.json", "the package.json whose version is written")
	module := flag.String("module", "js/b24pull.mjs", "the ES module to write")
	script := flag.String("script", "js/b24pull.js", "the classic script to write")
	flag.Parse()
	if err := run(*src, *runtime, *pkg, *module, *script); err != nil {
		fmt.Fprintln(os.Stderr, "jsbuild:", err)
		os.Exit(1)
	}
}

func run(srcPath, runtimePath, pkgPath, modulePath, scriptPath string) error {
	if runtimePath == "" {
		return errors.New("-runtime is required: the wasm_exec.js of the Go that built b24pull.wasm")
	}
	src, err := os.ReadFile(srcPath)
	if err != nil {
		return fmt.Errorf("failed to read the source: %w", err)
	}
	runtime, err := os.ReadFile(runtimePath)
	if err != nil {
		return fmt.Errorf("failed to read the Go runtime: %w", err)
	}
	version, err := packageVersion(pkgPath)
	if err != nil {
		return err
	}
	module, err := buildModule(string(src), string(runtime), version, srcPath)
	if err != nil {
		return err
	}
	script, err := classic(module, srcPath)
	if err != nil {
		return err
	}
	if err := os.WriteFile(modulePath, []byte(module), 0o644); err != nil {
		return fmt.Errorf("failed to write the module: %w", err)
	}
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		return fmt.Errorf("failed to write the script: %w", err)
	}
	return nil
}

// packageVersion reads the version of package.json.
func packageVersion(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("failed to read the package: %w", err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", fmt.Errorf("failed to parse %s: %w", path, err)
	}
	if !versionForm.MatchString(pkg.Version) {
		return "", fmt.Errorf("%s: the version %q is not a version", path, pkg.Version)
	}
	return pkg.Version, nil
}

// buildModule puts the runtime and the version into the source.
func buildModule(src, runtime, version, name string) (string, error) {
	for _, once := range []string{runtimeMarker, versionLine, wasmLiteral, exportDecl} {
		if n := strings.Count(src, once); n != 1 {
			return "", fmt.Errorf("%s: want exactly one %q, found %d", name, once, n)
		}
	}
	if n := strings.Count(src, "import.meta"); n != 1 {
		return "", fmt.Errorf("%s: import.meta may appear only in %s, found %d uses", name, wasmLiteral, n)
	}
	if n := len(exportList.FindAllStringIndex(src, -1)); n > 1 {
		return "", fmt.Errorf("%s: want at most one export list line, found %d", name, n)
	}
	if n := strings.Count(runtime, "globalThis.Go ="); n != 1 {
		return "", fmt.Errorf("the runtime should define globalThis.Go once, found %d", n)
	}
	out := strings.Replace(src, runtimeMarker, privateRuntime(runtime), 1)
	out = strings.Replace(out, versionLine, "export const version = '"+version+"';", 1)
	return out, nil
}

// privateRuntime wraps wasm_exec.js so that its Go class is a constant of the module and the
// global property is left as it was. The file's other globals (fs, process, path polyfills) stay:
// the Go runtime looks them up on globalThis.
func privateRuntime(runtime string) string {
	var b strings.Builder
	b.WriteString("// The Go toolchain's wasm_exec.js, inlined by cmd/jsbuild; its Go class stays private.\n")
	b.WriteString("const Go = (() => {\n")
	b.WriteString("const previousGo = Object.getOwnPropertyDescriptor(globalThis, 'Go');\n")
	b.WriteString(strings.TrimRight(runtime, "\n"))
	b.WriteString("\nconst go = globalThis.Go;\n")
	b.WriteString("if (previousGo) Object.defineProperty(globalThis, 'Go', previousGo);\n")
	b.WriteString("else delete globalThis.Go;\n")
	b.WriteString("return go;\n})();")
	return b.String()
}

// classic turns the built module text into the classic script text.
func classic(module, name string) (string, error) {
	body := strings.Replace(module, wasmLiteral, classicWasm, 1)
	body = strings.Replace(body, "export const version = ", "const version = ", 1)
	body = strings.Replace(body, exportDecl, plainDecl, 1)
	published := "createPullClient, version"
	if m := exportList.FindStringSubmatch(body); m != nil {
		published += ", " + m[1]
		body = strings.Replace(body, m[0], "", 1)
	}
	if loc := leftover.FindStringIndex(body); loc != nil {
		line := strings.Count(body[:loc[0]], "\n") + 1
		return "", errors.New(name + ": line " + fmt.Sprint(line) + " of the built module: an import, export or import.meta is left that a classic script cannot hold")
	}
	var b strings.Builder
	b.WriteString("// b24pull.js: generated from js/src/b24pull.mjs by cmd/jsbuild. Do not edit.\n")
	b.WriteString("// Load with <script src=\".../b24pull.js\"></script>; it sets globalThis.B24Pull = {" + published + "}.\n")
	b.WriteString("(() => {\n'use strict';\n")
	b.WriteString(classicBase)
	b.WriteString("\n\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("\nglobalThis.B24Pull = Object.freeze({ " + published + " });\n})();\n")
	return b.String(), nil
}
