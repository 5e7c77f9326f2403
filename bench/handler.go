//go:build !js

package bench

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/b24pull/b24pull/internal/webdeps"
)

// URL prefixes the bench handler serves.
const (
	// PagePrefix serves the bench pages and their scripts (bench/web, embedded).
	PagePrefix = "/bench/"
	// PackagePrefix serves the built browser package (js/: b24pull.js, b24pull.mjs,
	// b24pull.wasm) from disk.
	PackagePrefix = "/b24pull/"
	// VariantPrefix serves another build of the browser package (Config.VariantDir).
	VariantPrefix = "/b24pull-variant/"
)

//go:embed web
var webFS embed.FS

// pages returns the embedded bench/web files.
func pages() fs.FS {
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		panic(err) // the directory is embedded: Sub cannot fail
	}
	return sub
}

// handler serves the bench pages, the browser package and the official client's files. Nothing is
// cached (every load in a cold start is a real fetch); files go out uncompressed, as loopback makes
// transfer cheap and the compressed sizes are reported separately.
type handler struct {
	jsDir      string
	variantDir string
	deps       http.Handler
}

// newHandler serves js/ from jsDir and e2e/web/node_modules from webDir.
func newHandler(jsDir, webDir string) *handler {
	return &handler{jsDir: jsDir, deps: webdeps.NewHandlerAt(webDir)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, webdeps.NodeModulesPrefix):
		h.deps.ServeHTTP(w, r)
		return
	case strings.HasPrefix(p, PagePrefix):
		name, ok := cleanName(strings.TrimPrefix(p, PagePrefix))
		if !ok {
			http.NotFound(w, r)
			return
		}
		data, err := fs.ReadFile(pages(), name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		serve(w, r, name, data)
	case strings.HasPrefix(p, PackagePrefix), strings.HasPrefix(p, VariantPrefix):
		data, ok := h.fileFor(p, "")
		if !ok {
			http.NotFound(w, r)
			return
		}
		serve(w, r, path.Base(p), data)
	default:
		http.NotFound(w, r)
	}
}

func serve(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	w.Header().Set("Content-Type", webdeps.ContentType(name))
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// cleanName rejects empty and parent-escaping paths and returns the cleaned slash path.
func cleanName(rel string) (string, bool) {
	if rel == "" || strings.ContainsAny(rel, "\\\x00") {
		return "", false
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." {
			return "", false
		}
	}
	clean := path.Clean("/" + rel)[1:]
	return clean, clean != "" && clean != "."
}

// fileFor maps a URL path the handler serves to the bytes it serves; ok is false for anything else
// (REST calls, other origins).
func (h *handler) fileFor(urlPath, webDir string) ([]byte, bool) {
	switch {
	case strings.HasPrefix(urlPath, PagePrefix):
		name, ok := cleanName(strings.TrimPrefix(urlPath, PagePrefix))
		if !ok {
			return nil, false
		}
		data, err := fs.ReadFile(pages(), name)
		return data, err == nil
	case strings.HasPrefix(urlPath, PackagePrefix), strings.HasPrefix(urlPath, VariantPrefix):
		dir, prefix := h.jsDir, PackagePrefix
		if strings.HasPrefix(urlPath, VariantPrefix) {
			dir, prefix = h.variantDir, VariantPrefix
		}
		name, ok := cleanName(strings.TrimPrefix(urlPath, prefix))
		if !ok || dir == "" || strings.Contains(name, "/") {
			return nil, false
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		return data, err == nil
	case strings.HasPrefix(urlPath, webdeps.NodeModulesPrefix) && webDir != "":
		name, ok := cleanName(strings.TrimPrefix(urlPath, webdeps.NodeModulesPrefix))
		if !ok {
			return nil, false
		}
		data, err := os.ReadFile(filepath.Join(webDir, "node_modules", filepath.FromSlash(name)))
		return data, err == nil
	}
	return nil, false
}
