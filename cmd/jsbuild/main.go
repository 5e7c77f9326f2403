// Command jsbuild generates the classic-script build js/b24pull.js from the ES module js/b24pull.mjs,
// so that there is one hand-written source.
//
//	go run ./cmd/jsbuild [-in js/b24pull.mjs] [-out js/b24pull.js]
//
// The module must hold exactly one `const moduleBase = import.meta.url;` line, which becomes the URL of
// the script element (document.currentScript, read while the script runs), and exactly one
// `export async function createPullClient(` line, which loses its export; the result is wrapped in a
// function and publishes globalThis.B24Pull = {createPullClient}. Any other export or import.meta
// fails the build, because a classic script cannot hold them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
)

const (
	baseLine    = "const moduleBase = import.meta.url;"
	classicBase = "const moduleBase = (document.currentScript && document.currentScript.src) || location.href;"
	exportDecl  = "export async function createPullClient("
	plainDecl   = "async function createPullClient("
)

var leftover = regexp.MustCompile(`(?m)^\s*export\s|import\.meta|^\s*import\s`)

func main() {
	in := flag.String("in", "js/b24pull.mjs", "the ES module")
	out := flag.String("out", "js/b24pull.js", "the classic script to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "jsbuild:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("failed to read the module: %w", err)
	}
	script, err := classic(string(src), in)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(script), 0o644); err != nil {
		return fmt.Errorf("failed to write the script: %w", err)
	}
	return nil
}

// classic turns the module text into the classic script text.
func classic(src, name string) (string, error) {
	if n := strings.Count(src, baseLine); n != 1 {
		return "", fmt.Errorf("%s: want exactly one %q line, found %d", name, baseLine, n)
	}
	if n := strings.Count(src, exportDecl); n != 1 {
		return "", fmt.Errorf("%s: want exactly one %q, found %d", name, exportDecl, n)
	}
	body := strings.Replace(src, baseLine, classicBase, 1)
	body = strings.Replace(body, exportDecl, plainDecl, 1)
	if loc := leftover.FindStringIndex(body); loc != nil {
		line := strings.Count(body[:loc[0]], "\n") + 1
		return "", errors.New(name + ": line " + fmt.Sprint(line) + ": an import, export or import.meta is left that a classic script cannot hold")
	}
	var b strings.Builder
	b.WriteString("// b24pull.js: generated from b24pull.mjs by cmd/jsbuild. Do not edit.\n")
	b.WriteString("// Load with <script src=\".../b24pull.js\"></script>; it sets globalThis.B24Pull = {createPullClient}.\n")
	b.WriteString("(() => {\n'use strict';\n\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("\nglobalThis.B24Pull = Object.freeze({ createPullClient });\n})();\n")
	return b.String(), nil
}
