// Package webdeps serves the browser-side test dependencies (e2e/web/node_modules,
// installed by `npm ci --prefix e2e/web`) and the static test pages
// (e2e/web/pages) to headless Chromium, so that a page can import the official
// client, @bitrix24/b24jssdk, as an ES module without a bundler.
//
// The SDK's ESM build imports three bare specifiers (axios, luxon, qs-esm);
// [ImportMap] maps them, and the SDK itself, to browser ESM files under
// /node_modules/. An HTML page served from /pages/ may contain the marker
// [ImportMapMarker], which the handler replaces with the inline import map
// (browsers accept only inline import maps).
package webdeps

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// URL prefixes served by [Handler].
const (
	NodeModulesPrefix = "/node_modules/"
	PagesPrefix       = "/pages/"
)

// SDKModule is the npm name of the official client.
const SDKModule = "@bitrix24/b24jssdk"

// SDKVersion is the exact version pinned in e2e/web/package.json.
const SDKVersion = "2.2.0"

// SDKBundleURL is the SDK's self-contained UMD build (it defines the global
// B24Js and bundles its dependencies), for a classic <script> tag.
const SDKBundleURL = NodeModulesPrefix + SDKModule + "/dist/umd/index.min.js"

// ImportMapMarker in an HTML page under /pages/ is replaced by
// [ImportMapScript] when the page is served.
const ImportMapMarker = "<!-- webdeps:importmap -->"

// importMap maps every bare specifier the SDK's ESM build imports to a
// browser ESM file: axios ships a browser bundle in dist/esm (its package
// root needs a bundler to swap the Node adapters), luxon an ES6 build, and
// qs-esm is ESM already.
var importMap = map[string]string{
	SDKModule: NodeModulesPrefix + SDKModule + "/dist/esm/index.mjs",
	"axios":   NodeModulesPrefix + "axios/dist/esm/axios.js",
	"luxon":   NodeModulesPrefix + "luxon/build/es6/luxon.mjs",
	"qs-esm":  NodeModulesPrefix + "qs-esm/lib/index.js",
}

// ImportMap returns a copy of the specifier → URL map used by the pages.
func ImportMap() map[string]string {
	m := make(map[string]string, len(importMap))
	for k, v := range importMap {
		m[k] = v
	}
	return m
}

// ImportMapScript returns the import map as an inline
// `<script type="importmap">` element, to put in a page's <head> before any
// module script.
func ImportMapScript() string {
	data, err := json.Marshal(map[string]any{"imports": importMap})
	if err != nil {
		// A map of strings always marshals.
		panic(fmt.Sprintf("webdeps: failed to marshal the import map: %v", err))
	}
	return `<script type="importmap">` + string(data) + `</script>`
}

// ErrNoRepoRoot is returned when no go.mod is found above the working
// directory.
var ErrNoRepoRoot = errors.New("webdeps: no go.mod found above the working directory")

// RepoRoot finds the module root by walking up from the working directory to
// the first directory holding go.mod (go test runs in the package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("failed to get the working directory: %w", err)
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRepoRoot
		}
		dir = parent
	}
}

// WebDir returns the absolute path of e2e/web.
func WebDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "e2e", "web"), nil
}

// installHint tells how to install the dependencies.
const installHint = "run `npm ci --prefix e2e/web` from the repository root (the Makefile's test target does it)"

// Check verifies that e2e/web/node_modules holds the pinned SDK and the files
// of the import map. The error says what is missing and how to install it.
func Check() error {
	web, err := WebDir()
	if err != nil {
		return err
	}
	pkgPath := filepath.Join(web, "node_modules", filepath.FromSlash(SDKModule), "package.json")
	data, err := os.ReadFile(pkgPath)
	if err != nil {
		return fmt.Errorf("failed to find %s in e2e/web/node_modules: %s", SDKModule, installHint)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return fmt.Errorf("failed to read %s's package.json: %w", SDKModule, err)
	}
	if pkg.Version != SDKVersion {
		return fmt.Errorf("failed to find %s %s in e2e/web/node_modules (found %q): %s",
			SDKModule, SDKVersion, pkg.Version, installHint)
	}
	for spec, url := range importMap {
		rel := filepath.FromSlash(url[len(NodeModulesPrefix):])
		if _, err := os.Stat(filepath.Join(web, "node_modules", rel)); err != nil {
			return fmt.Errorf("failed to find the browser build of %s (%s): %s", spec, url, installHint)
		}
	}
	return nil
}

// Require fails the test at once when Check fails: in this project missing
// browser dependencies are an error, never a skip.
func Require(t testing.TB) {
	t.Helper()
	if err := Check(); err != nil {
		t.Fatalf("browser test dependencies missing: %v", err)
	}
}
