package standin

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The portal page hosts an application the way a Bitrix24 portal page does: in an iframe named
// "DOMAIN|PROTOCOL|APP_SID" whose URL carries DOMAIN, PROTOCOL, LANG and APP_SID, and with a script
// that answers the frame library's postMessage commands (getInitData with a fresh access token,
// refreshAuth with another one, harmless answers to the rest). The frame library then calls the
// stand-in's REST at http://DOMAIN/rest/<method>, cross-origin, which setCORS and the preflight of
// serveREST allow.
//
//	GET  /portal/app?url=<app URL>[&user=7][&admin=N][&lang=en]  the portal page
//	GET  /portal/app/frame.js                                   its script
//	POST /portal/app/command {sid, command, params}              a command's answer: {"answer": …}
//	POST /portal/app/expire[?sid=<APP_SID>]                      expire the tokens a page (or every page) got
//	GET  /portal/app/stats                                       PortalFrameStats
const (
	// PortalFramePath is the portal page's path.
	PortalFramePath = "/portal/app"
	// PortalFrameDefaultUser is the user a portal page signs the app in as when the URL names none:
	// a non-administrator, like the e2e tests' user.
	PortalFrameDefaultUser = 7
	// PortalFrameTokenLifetime is the AUTH_EXPIRES the page hands out, in seconds.
	PortalFrameTokenLifetime = 3600

	frameScriptPath = PortalFramePath + "/frame.js"
	// maxFramePages bounds the pages remembered; the oldest is forgotten first.
	maxFramePages = 256
	// maxFrameTokens bounds the tokens remembered per page.
	maxFrameTokens = 64
	// maxFrameOptions bounds the app and user options a page keeps.
	maxFrameOptions = 64
	// maxFrameCommandNames bounds the distinct command names counted; later ones count as "other".
	maxFrameCommandNames = 64
	maxFrameCommandLen   = 64
	maxFrameURLLen       = 4096
	maxFrameBody         = 1 << 16
)

// Commands of the frame protocol the page answers with more than null.
const (
	frameCmdInitData  = "getInitData"
	frameCmdRefresh   = "refreshAuth"
	frameCmdAppOption = "setAppOption"
	frameCmdUsrOption = "setUserOption"
	frameCmdInterface = "getInterface"
	frameCmdOther     = "other"
)

//go:embed portalframe/page.html portalframe/frame.js
var frameAssets embed.FS

var (
	framePageTmpl = template.Must(template.ParseFS(frameAssets, "portalframe/page.html"))
	frameScript   = mustReadAsset("portalframe/frame.js")
	frameLangRe   = regexp.MustCompile(`^[a-z]{2}(-[a-z]{2})?$`)
)

func mustReadAsset(name string) []byte {
	b, err := frameAssets.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("standin: missing embedded asset %s: %v", name, err))
	}
	return b
}

// PortalFrameStats counts what portal pages were asked since Start.
type PortalFrameStats struct {
	// Pages counts portal pages served.
	Pages int64 `json:"pages"`
	// InitData counts getInitData commands, Refreshes refreshAuth commands; each handed out a new
	// token, Tokens counts them all.
	InitData  int64 `json:"initData"`
	Refreshes int64 `json:"refreshes"`
	Tokens    int64 `json:"tokens"`
	// Expired counts tokens expired through ExpirePortalFrameTokens or POST /portal/app/expire.
	Expired int64 `json:"expired"`
	// Commands counts every command by name, the two above included.
	Commands map[string]int64 `json:"commands"`
}

// framePage is one portal page served: the app it hosts and whom it signs in.
type framePage struct {
	sid         string
	user        int
	admin       bool
	lang        string
	domain      string
	protocol    int
	tokens      []string
	appOptions  map[string]json.RawMessage
	userOptions map[string]json.RawMessage
}

// frameState is what the portal pages keep. It has its own lock; NewToken and ExpireToken, which
// take Server.mu, are never called with it held.
type frameState struct {
	mu       sync.Mutex
	memberID string
	pages    map[string]*framePage
	order    []string
	stats    PortalFrameStats
}

// PortalFrameURL returns the portal page URL hosting appURL for user (admin marks an administrator).
// appURL must be an http(s) URL of a loopback host, or the page answers 400.
func (s *Server) PortalFrameURL(appURL string, user int, admin bool) string {
	q := url.Values{"url": {appURL}, "user": {strconv.Itoa(user)}}
	if admin {
		q.Set("admin", "Y")
	}
	return s.portalURL + PortalFramePath + "?" + q.Encode()
}

// PortalFrameStats returns a snapshot of the portal pages' counters.
func (s *Server) PortalFrameStats() PortalFrameStats {
	f := &s.frames
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stats
	st.Commands = make(map[string]int64, len(f.stats.Commands))
	for k, v := range f.stats.Commands {
		st.Commands[k] = v
	}
	return st
}

// PortalFrameTokens returns the access tokens the page with APP_SID sid handed out, oldest first
// (the init data's, then one per refresh). They are secrets: keep them in the test.
func (s *Server) PortalFrameTokens(sid string) []string {
	f := &s.frames
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pages[sid]
	if p == nil {
		return nil
	}
	return append([]string(nil), p.tokens...)
}

// ExpirePortalFrameTokens makes every token the page with APP_SID sid handed out (every page's when
// sid is empty) answer 401 expired_token, and returns how many it expired. The frame library then
// refreshes through the page and retries.
func (s *Server) ExpirePortalFrameTokens(sid string) int {
	f := &s.frames
	var toks []string
	f.mu.Lock()
	for id, p := range f.pages {
		if sid == "" || id == sid {
			toks = append(toks, p.tokens...)
		}
	}
	f.stats.Expired += int64(len(toks))
	f.mu.Unlock()
	for _, t := range toks {
		s.ExpireToken(t)
	}
	return len(toks)
}

// serveFrame answers the /portal/app routes.
func (s *Server) serveFrame(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PortalFramePath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
			return
		}
		s.serveFramePage(w, r)
	case frameScriptPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(frameScript)
	case PortalFramePath + "/command":
		s.serveFrameCommand(w, r)
	case PortalFramePath + "/expire":
		setCORS(w.Header())
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"expired": s.ExpirePortalFrameTokens(r.URL.Query().Get("sid"))})
	case PortalFramePath + "/stats":
		setCORS(w.Header())
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
			return
		}
		writeJSON(w, http.StatusOK, s.PortalFrameStats())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown portal page endpoint"})
	}
}

// serveFramePage is GET /portal/app?url=<app URL>[&user=][&admin=][&lang=].
func (s *Server) serveFramePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app, err := checkAppURL(q.Get("url"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	user := PortalFrameDefaultUser
	if v := q.Get("user"); v != "" {
		if user, err = strconv.Atoi(v); err != nil || user <= 0 || user > 1<<31-1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "user must be a positive integer"})
			return
		}
	}
	admin := false
	if v := q.Get("admin"); v != "" {
		if admin, err = (faultArgs{"admin": v}).bool("admin"); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "admin must be Y or N"})
			return
		}
	}
	lang := strings.ToLower(q.Get("lang"))
	if lang == "" {
		lang = "en"
	}
	if !frameLangRe.MatchString(lang) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "lang must be a language code such as en or de"})
		return
	}
	p := &framePage{
		sid:         randomHex(16),
		user:        user,
		admin:       admin,
		lang:        lang,
		domain:      s.frameDomain(r),
		appOptions:  map[string]json.RawMessage{},
		userOptions: map[string]json.RawMessage{},
	}
	if r.TLS != nil {
		p.protocol = 1
	}
	s.frames.add(p)

	aq := app.Query()
	aq.Set("DOMAIN", p.domain)
	aq.Set("PROTOCOL", strconv.Itoa(p.protocol))
	aq.Set("LANG", p.lang)
	aq.Set("APP_SID", p.sid)
	app.RawQuery = aq.Encode()

	var buf bytes.Buffer
	err = framePageTmpl.Execute(&buf, map[string]any{
		"Lang":   p.lang,
		"User":   p.user,
		"Admin":  p.admin,
		"Name":   p.domain + "|" + strconv.Itoa(p.protocol) + "|" + p.sid,
		"Src":    app.String(),
		"SID":    p.sid,
		"Script": frameScriptPath,
	})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "failed to render the page"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(buf.Bytes())
}

// checkAppURL accepts an absolute http(s) URL of a loopback host (127.0.0.0/8, ::1, localhost)
// without user info.
func checkAppURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("url is required: the application URL to host")
	}
	if len(raw) > maxFrameURLLen {
		return nil, errors.New("url is too long")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return nil, errors.New("url must be an absolute http or https URL")
	}
	if u.Scheme = strings.ToLower(u.Scheme); u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("url must be an http or https URL")
	}
	if u.User != nil {
		return nil, errors.New("url must not carry user info")
	}
	if !isLoopbackHost(u.Hostname()) {
		return nil, errors.New("url must name a loopback host (127.0.0.0/8, [::1] or localhost)")
	}
	return u, nil
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// frameDomain is the DOMAIN a page hands out: the host:port the browser reached the portal at, so
// that the frame library's target origin, http(s)://DOMAIN, is the page's own origin; the portal
// listener's address when the Host header names anything but a loopback host.
func (s *Server) frameDomain(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if r.Host != "" && isLoopbackHost(host) {
		return r.Host
	}
	return strings.TrimPrefix(s.portalURL, "http://")
}

// add remembers p, forgetting the oldest page beyond maxFramePages.
func (f *frameState) add(p *framePage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pages == nil {
		f.pages = map[string]*framePage{}
		f.memberID = randomHex(16)
	}
	f.pages[p.sid] = p
	f.order = append(f.order, p.sid)
	for len(f.order) > maxFramePages {
		delete(f.pages, f.order[0])
		f.order = f.order[1:]
	}
	f.stats.Pages++
}

// countLocked records one command, bounding the names kept. f.mu is held.
func (f *frameState) countLocked(command string) {
	if f.stats.Commands == nil {
		f.stats.Commands = map[string]int64{}
	}
	if _, ok := f.stats.Commands[command]; !ok && len(f.stats.Commands) >= maxFrameCommandNames {
		command = frameCmdOther
	}
	f.stats.Commands[command]++
}

// frameRequest is the body of POST /portal/app/command: the page's APP_SID and the command as the
// frame posted it (params: the JSON text, a raw value, or an object of the object form).
type frameRequest struct {
	SID     string          `json:"sid"`
	Command string          `json:"command"`
	Params  json.RawMessage `json:"params"`
}

// serveFrameCommand is POST /portal/app/command. It has no CORS headers and wants a JSON body, so
// only the portal page's own origin can use it.
func (s *Server) serveFrameCommand(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "the body must be application/json"})
		return
	}
	var req frameRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFrameBody+1))
	if err != nil || len(body) > maxFrameBody || json.Unmarshal(body, &req) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body must be {sid, command, params}"})
		return
	}
	if req.Command == "" || len(req.Command) > maxFrameCommandLen {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "command is missing or too long"})
		return
	}
	answer, ok := s.frameCommand(req)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown page: open " + PortalFramePath + " again"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"answer": answer})
}

// frameCommand answers one command of the page req.SID; false when the page is unknown.
func (s *Server) frameCommand(req frameRequest) (any, bool) {
	f := &s.frames
	f.mu.Lock()
	p := f.pages[req.SID]
	if p == nil {
		f.mu.Unlock()
		return nil, false
	}
	f.countLocked(req.Command)
	user, admin := p.user, p.admin
	switch req.Command {
	case frameCmdInitData, frameCmdRefresh:
		f.mu.Unlock()
		tok := s.NewToken(user, admin)
		refresh := randomHex(24)
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(p.tokens) < maxFrameTokens {
			p.tokens = append(p.tokens, tok)
		}
		f.stats.Tokens++
		auth := map[string]any{
			"AUTH_ID":      tok,
			"AUTH_EXPIRES": PortalFrameTokenLifetime,
			"REFRESH_ID":   refresh,
			"MEMBER_ID":    f.memberID,
		}
		if req.Command == frameCmdRefresh {
			f.stats.Refreshes++
			return auth, true
		}
		f.stats.InitData++
		auth["DOMAIN"] = p.domain
		auth["PROTOCOL"] = p.protocol
		auth["PATH"] = "/rest"
		auth["LANG"] = p.lang
		auth["IS_ADMIN"] = p.admin
		auth["INSTALL"] = false
		auth["FIRST_RUN"] = false
		auth["PLACEMENT"] = "DEFAULT"
		auth["PLACEMENT_OPTIONS"] = map[string]any{}
		auth["APP_OPTIONS"] = cloneOptions(p.appOptions)
		auth["USER_OPTIONS"] = cloneOptions(p.userOptions)
		return auth, true
	case frameCmdAppOption, frameCmdUsrOption:
		defer f.mu.Unlock()
		opts := p.appOptions
		if req.Command == frameCmdUsrOption {
			opts = p.userOptions
		}
		setFrameOption(opts, req.Params)
		return nil, true
	case frameCmdInterface:
		f.mu.Unlock()
		return map[string]any{"command": []string{}, "event": []string{}}, true
	default:
		// setTitle, resizeWindow, setScroll, reloadWindow, openPath, the dialogs, …: acknowledged with
		// null, which every caller of the frame library takes as "nothing to report".
		f.mu.Unlock()
		return nil, true
	}
}

// setFrameOption stores {name, value} from a set*Option command's params (the JSON text the frame
// posts, or the object itself).
func setFrameOption(opts map[string]json.RawMessage, params json.RawMessage) {
	raw := params
	var text string
	if json.Unmarshal(params, &text) == nil {
		raw = json.RawMessage(text)
	}
	var opt struct {
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal(raw, &opt) != nil || opt.Name == "" || len(opt.Name) > maxFrameCommandLen {
		return
	}
	if _, ok := opts[opt.Name]; !ok && len(opts) >= maxFrameOptions {
		return
	}
	if len(opt.Value) == 0 {
		opt.Value = json.RawMessage("null")
	}
	opts[opt.Name] = opt.Value
}

func cloneOptions(m map[string]json.RawMessage) map[string]json.RawMessage {
	c := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
