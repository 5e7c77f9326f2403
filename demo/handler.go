package demo

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/b24pull/b24pull/standin"
)

// Paths the demo handler serves.
const (
	// BX24LocalPath is the local BX24 stand-in script. E2E pages may load it from any handler that
	// serves AssetHandler, next to a SessionHandler at SessionPath.
	BX24LocalPath = "/demo/bx24-local.js"
	// SessionPath answers the local page's session: portal URL, a fresh access token, user id.
	SessionPath = "/demo/session"
	// AssetPrefix is where the embedded page assets are served.
	AssetPrefix = "/demo/"
	// PackagePrefix is where the built browser package (js/) is served.
	PackagePrefix = "/b24pull/"
	// BX24LibraryURL is the real BX24 library, loaded in portal mode.
	BX24LibraryURL = "//api.bitrix24.com/api/v1/"
)

// bx24LibraryHost is the CSP source that allows BX24LibraryURL.
const bx24LibraryHost = "api.bitrix24.com"

// maxFormBody bounds the POST body Bitrix24 sends when it opens the app.
const maxFormBody = 64 << 10

//go:embed web
var webFS embed.FS

// staticAssets are the embedded files served under AssetPrefix; index.html is a template, served at /.
var staticAssets = []string{"app.js", "compare.js", "style.css", "bx24-local.js", "icon.svg"}

// Assets returns the embedded page assets (index.html, app.js, compare.js, style.css, bx24-local.js,
// icon.svg).
func Assets() fs.FS {
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		panic("demo: embedded assets missing: " + err.Error()) // cannot happen: web is embedded
	}
	return sub
}

var indexTemplate = template.Must(template.ParseFS(webFS, "web/index.html"))

// handler serves the page, its assets, the browser package and the local session.
type handler struct {
	portal   portalRef
	jsDir    string
	user     int
	admin    bool
	version  int
	lifetime time.Duration
	official official
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/" || p == "/index.html":
		h.serveIndex(w, r)
	case p == SessionPath:
		sessionHandler(h.portal.Load(), h.user, h.admin, h.version, h.lifetime).ServeHTTP(w, r)
	case strings.HasPrefix(p, AssetPrefix):
		AssetHandler().ServeHTTP(w, r)
	case strings.HasPrefix(p, PackagePrefix):
		h.servePackage(w, r)
	case p == OfficialBundlePath:
		h.official.serve(w, r)
	case p == "/favicon.ico":
		http.Redirect(w, r, AssetPrefix+"icon.svg", http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// DemoUsers are the users a local page can be opened as (/?user=N), besides the session's own:
// with two or three tabs of the demo, messages go between users and the presence panel shows them
// come and go.
var DemoUsers = []int{1, 2, 3}

// demoUsers returns the users a local page of user's demo may be opened as: DemoUsers and user, in
// order.
func demoUsers(user int) []int {
	users := slices.Clone(DemoUsers)
	if !slices.Contains(users, user) {
		users = append(users, user)
	}
	slices.Sort(users)
	return users
}

// pickUser reads the user query parameter: one of users, or def when there is none; ok is false for
// any other value.
func pickUser(r *http.Request, users []int, def int) (int, bool) {
	q := r.URL.Query().Get("user")
	if q == "" {
		return def, true
	}
	n, err := strconv.Atoi(q)
	if err != nil || !slices.Contains(users, n) {
		return 0, false
	}
	return n, true
}

// pageData is what index.html is rendered with.
type pageData struct {
	Portal    bool
	BX24Local string
	BX24Lib   string
	Session   string
	Package   string
	// Official is the URL of the official client's bundle, empty when it is missing; OfficialMissing
	// then says why and how to install it.
	Official        string
	OfficialMissing string
}

// serveIndex renders the page for GET, HEAD and POST (Bitrix24 opens apps with a POST).
func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	portal := isPortalRequest(w, r)
	pushURL := ""
	if sa := h.portal.Load(); sa != nil {
		pushURL = sa.PushURL()
	}
	// Locally, /?user=N opens the page as another of the demo's users: its session asks for N.
	session := SessionPath
	if !portal {
		user, ok := pickUser(r, demoUsers(h.user), h.user)
		if !ok {
			http.Error(w, "user must be one of the demo's users", http.StatusBadRequest)
			return
		}
		if user != h.user {
			session += "?user=" + strconv.Itoa(user)
		}
	}
	var buf bytes.Buffer
	official := ""
	if h.official.available() {
		official = OfficialBundlePath
	}
	err := indexTemplate.Execute(&buf, pageData{
		Portal: portal, BX24Local: BX24LocalPath, BX24Lib: BX24LibraryURL, Session: session,
		Package: PackagePrefix, Official: official, OfficialMissing: h.official.missing,
	})
	if err != nil {
		http.Error(w, "failed to render the page", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", contentSecurityPolicy(portal, pushURL))
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// isPortalRequest tells whether Bitrix24 opened the page: a POST carrying AUTH_ID, or the DOMAIN and
// APP_SID query parameters of an app frame.
func isPortalRequest(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if q.Get("DOMAIN") != "" && q.Get("APP_SID") != "" {
		return true
	}
	if r.Method != http.MethodPost {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return false
	}
	return r.PostForm.Get("AUTH_ID") != ""
}

// contentSecurityPolicy is the page's policy: scripts only from the page's origin (and the BX24
// library host in portal mode), WebAssembly compilation allowed without 'unsafe-eval', connections to
// the page's origin and the local push server, or to any https/wss host in portal mode, where the
// portal and its push server are not known in advance.
func contentSecurityPolicy(portal bool, pushURL string) string {
	script := "'self' 'wasm-unsafe-eval'"
	connect := "'self'"
	img := "'self' data:"
	if portal {
		script += " " + bx24LibraryHost
		connect += " https: wss:"
		img += " https:"
	} else if u, err := url.Parse(pushURL); err == nil && u.Host != "" {
		connect += " http://" + u.Host + " ws://" + u.Host
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + script,
		"style-src 'self'",
		"img-src " + img,
		"connect-src " + connect,
		"base-uri 'none'",
		"form-action 'self'",
	}, "; ")
}

// servePackage serves the files of the built browser package from disk; .wasm goes out as
// application/wasm, which instantiateStreaming requires.
func (h *handler) servePackage(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, PackagePrefix)
	if !slices.Contains(jsFiles, name) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	switch path.Ext(name) {
	case ".wasm":
		hd.Set("Content-Type", "application/wasm")
	case ".mjs", ".js":
		hd.Set("Content-Type", "text/javascript; charset=utf-8")
	case ".ts":
		hd.Set("Content-Type", "text/plain; charset=utf-8")
	}
	http.ServeFile(w, r, filepath.Join(h.jsDir, name))
}

// AssetHandler serves the embedded page assets (app.js, compare.js, style.css, bx24-local.js,
// icon.svg) under AssetPrefix, GET and HEAD only; other paths get 404.
func AssetHandler() http.Handler {
	assets := Assets()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, AssetPrefix)
		if !strings.HasPrefix(r.URL.Path, AssetPrefix) || !slices.Contains(staticAssets, name) {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeFileFS(w, r, assets, name)
	})
}

// Session is what SessionPath answers: where the portal is and a fresh access token of the user.
type Session struct {
	Portal string `json:"portal"`
	Token  string `json:"token"`
	User   int    `json:"user"`
	Admin  bool   `json:"admin"`
	// Version and Lifetime describe the stand-in, for the page's header.
	Version  int     `json:"version"`
	Lifetime float64 `json:"lifetime"`
	// Users are the demo's users (DemoUsers and the session's own), whom the presence panel shows
	// and the page can be opened as.
	Users []int `json:"users"`
}

// SessionHandler answers GET requests with a Session of a fresh app access token of user on portal,
// or, with ?user=N, of N, one of DemoUsers (not an administrator). bx24-local.js loads it at init
// and again for every refreshAuth.
func SessionHandler(portal *standin.Server, user int, admin bool) http.Handler {
	return sessionHandler(portal, user, admin, 0, 0)
}

func sessionHandler(portal *standin.Server, user int, admin bool, version int, lifetime time.Duration) http.Handler {
	users := demoUsers(user)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if portal == nil {
			http.Error(w, "the stand-in is starting", http.StatusServiceUnavailable)
			return
		}
		as, ok := pickUser(r, users, user)
		if !ok {
			http.Error(w, "user must be one of the demo's users", http.StatusBadRequest)
			return
		}
		isAdmin := admin && as == user
		body, err := json.Marshal(Session{
			Portal: portal.PortalURL(), Token: portal.NewToken(as, isAdmin), User: as, Admin: isAdmin,
			Version: version, Lifetime: lifetime.Seconds(), Users: users,
		})
		if err != nil {
			http.Error(w, "failed to encode the session", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}
