package webdeps

import (
	"bytes"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// mimeTypes fixes the Content-Type of the file kinds a test page loads;
// browsers refuse module scripts served with a non-JavaScript type and
// instantiateStreaming needs application/wasm.
var mimeTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".cjs":  "text/javascript; charset=utf-8",
	".json": "application/json",
	".map":  "application/json",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".txt":  "text/plain; charset=utf-8",
}

// ContentType returns the Content-Type served for a file name.
func ContentType(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if t, ok := mimeTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Handler serves e2e/web/node_modules under /node_modules/ and e2e/web/pages
// under /pages/ (GET and HEAD only, no directory listings, no caching). Other
// paths get 404, so it can sit behind a mux or as a fallback handler.
type Handler struct {
	nodeModules string
	pages       string
}

// NewHandler locates e2e/web from the working directory. It does not require
// node_modules to exist (call Check for that); a missing file is a 404.
func NewHandler() (*Handler, error) {
	web, err := WebDir()
	if err != nil {
		return nil, err
	}
	return NewHandlerAt(web), nil
}

// NewHandlerAt serves <webDir>/node_modules and <webDir>/pages.
func NewHandlerAt(webDir string) *Handler {
	return &Handler{
		nodeModules: filepath.Join(webDir, "node_modules"),
		pages:       filepath.Join(webDir, "pages"),
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var dir, rel string
	isPage := false
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, NodeModulesPrefix):
		dir, rel = h.nodeModules, strings.TrimPrefix(p, NodeModulesPrefix)
	case strings.HasPrefix(p, PagesPrefix):
		dir, rel, isPage = h.pages, strings.TrimPrefix(p, PagesPrefix), true
	default:
		http.NotFound(w, r)
		return
	}
	name, ok := cleanRel(rel)
	if !ok {
		http.NotFound(w, r)
		return
	}
	full := filepath.Join(dir, filepath.FromSlash(name))
	fi, err := os.Stat(full)
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "failed to read file", http.StatusInternalServerError)
		return
	}
	if isPage && strings.EqualFold(filepath.Ext(name), ".html") {
		data = bytes.ReplaceAll(data, []byte(ImportMapMarker), []byte(ImportMapScript()))
	}
	w.Header().Set("Content-Type", ContentType(name))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// cleanRel rejects empty, absolute and parent-escaping paths and returns the
// cleaned slash path.
func cleanRel(rel string) (string, bool) {
	if rel == "" || strings.ContainsRune(rel, 0) || strings.Contains(rel, "\\") {
		return "", false
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." {
			return "", false
		}
	}
	clean := path.Clean("/" + rel)[1:]
	if clean == "" || clean == "." {
		return "", false
	}
	return clean, true
}
