package demo_test

import (
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/b24pull/b24pull/demo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeWebDir writes an npm install of the official client at version, holding its browser bundle
// and one other file the demo must not serve.
func fakeWebDir(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	pkg := filepath.Join(dir, "node_modules", "@bitrix24", "b24jssdk")
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, "dist", "umd"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"version": "`+version+`"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "dist", "umd", "index.min.js"), []byte("var B24Js = {};"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "dist", "umd", "index.js"), []byte("//"), 0o644))
	return dir
}

// officialAttrs reads the official client's bundle URL and the missing note from the page.
func officialAttrs(t *testing.T, body string) (string, string) {
	t.Helper()
	url := regexp.MustCompile(`data-official="([^"]*)"`).FindStringSubmatch(body)
	missing := regexp.MustCompile(`data-official-missing="([^"]*)"`).FindStringSubmatch(body)
	require.Len(t, url, 2, "the page has no data-official")
	require.Len(t, missing, 2, "the page has no data-official-missing")
	return html.UnescapeString(url[1]), html.UnescapeString(missing[1])
}

// TestOfficialClientFiles checks how the demo offers the official client to the side-by-side card:
// with the pinned version installed the page names its bundle, which is served as JavaScript (and
// nothing else of node_modules is); missing, or at another version, the page gets a note saying how
// to install it and the bundle is a 404. The page's policy stays as strict either way.
func TestOfficialClientFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, version string
		web           bool
		missing       []string
	}{
		{"installed", "2.2.0", true, nil},
		{"not installed", "", false, []string{"not installed", "scripts/ensure-npm.sh"}},
		{"another version", "2.1.0", true, []string{"2.1.0", "needs 2.2.0", "scripts/ensure-npm.sh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			web := t.TempDir()
			if tt.web {
				web = fakeWebDir(t, tt.version)
			}
			srv, err := demo.Start(demo.Options{Addr: "0", JSDir: fakeJSDir(t), WebDir: web})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, srv.Close()) })
			base := strings.TrimSuffix(srv.URL(), "/")

			res, body := get(t, http.MethodGet, srv.URL(), "", "")
			require.Equal(t, http.StatusOK, res.StatusCode)
			csp := res.Header.Get("Content-Security-Policy")
			assert.Contains(t, csp, "script-src 'self' 'wasm-unsafe-eval'")
			assert.NotContains(t, csp, "'unsafe-eval'")
			url, missing := officialAttrs(t, body)
			bundle, bundleBody := get(t, http.MethodGet, base+demo.OfficialBundlePath, "", "")
			if tt.missing == nil {
				assert.Equal(t, demo.OfficialBundlePath, url)
				assert.Empty(t, missing)
				assert.Empty(t, srv.OfficialMissing())
				assert.Equal(t, http.StatusOK, bundle.StatusCode)
				assert.Equal(t, "text/javascript; charset=utf-8", bundle.Header.Get("Content-Type"))
				assert.Equal(t, "var B24Js = {};", bundleBody)
			} else {
				assert.Empty(t, url)
				assert.Equal(t, srv.OfficialMissing(), missing)
				for _, text := range tt.missing {
					assert.Contains(t, missing, text)
				}
				assert.Equal(t, http.StatusNotFound, bundle.StatusCode)
			}
			for _, path := range []string{
				"/node_modules/@bitrix24/b24jssdk/dist/umd/index.js",
				"/node_modules/@bitrix24/b24jssdk/package.json",
				"/node_modules/",
				"/pages/conformance.html",
			} {
				res, _ := get(t, http.MethodGet, base+path, "", "")
				assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
			}
			res, _ = get(t, http.MethodPost, base+demo.OfficialBundlePath, "", "")
			assert.NotEqual(t, http.StatusOK, res.StatusCode, "POST of the bundle")
		})
	}
}
