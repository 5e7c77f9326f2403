//go:build !js

package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/stretchr/testify/require"
)

// packageFiles are the files of the built browser package a page loads from /b24pull/.
var packageFiles = []string{"b24pull.mjs", "b24pull.wasm"}

// testSite is what every e2e page site serves: the pages of e2e/web under /pages/ and the built
// browser package of js/ under /b24pull/ (no-store, so every run loads the current build).
type testSite struct {
	pages http.Handler
	root  string
}

// newTestSite fails the test when the browser package is not built.
func newTestSite(t *testing.T) testSite {
	root, err := webdeps.RepoRoot()
	require.NoError(t, err)
	for _, f := range packageFiles {
		_, err := os.Stat(filepath.Join(root, "js", f))
		require.NoError(t, err, "the browser package is not built: run scripts/build-wasm.sh")
	}
	return testSite{pages: webdeps.NewHandlerAt(filepath.Join(root, "e2e", "web")), root: root}
}

// serve answers a request for a page or a package file and reports whether it did.
func (s testSite) serve(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, webdeps.PagesPrefix):
		s.pages.ServeHTTP(w, r)
	case strings.HasPrefix(p, "/b24pull/") && slices.Contains(packageFiles, strings.TrimPrefix(p, "/b24pull/")):
		w.Header().Set("Content-Type", webdeps.ContentType(p))
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFile(w, r, filepath.Join(s.root, "js", strings.TrimPrefix(p, "/b24pull/")))
	default:
		return false
	}
	return true
}
