//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/browser"
	"github.com/b24pull/b24pull/internal/webdeps"
	"github.com/b24pull/b24pull/standin"
)

const (
	pfUser     = 7                // the portal page's user, not an administrator
	pfRun      = 60 * time.Second // one run: page, init, two calls
	pfStep     = 20 * time.Second // one report of the app (a refresh alone may take the SDK's 10 s)
	pfAnswer   = 30 * time.Second // how long the app's report waits for the test's next step
	pfMaxBody  = 1 << 16
	pfReport   = "/frame-app/report"
	pfAppPage  = webdeps.PagesPrefix + "frame-app.html"
	pfNextCall = "again"
	pfNextDone = "done"
)

// pfReportBody is what frame-app.js reports after each step.
type pfReportBody struct {
	Build      string `json:"build"`
	Step       string `json:"step"`
	Error      string `json:"error"`
	SDKLoaded  bool   `json:"sdkLoaded"`
	Search     string `json:"search"`
	WindowName string `json:"windowName"`
	Token      string `json:"token"`
	ExpiresIn  int    `json:"expiresIn"`
	Domain     string `json:"domain"`
	MemberID   string `json:"memberId"`
	AppSID     string `json:"appSid"`
	Lang       string `json:"lang"`
	IsAdmin    bool   `json:"isAdmin"`
	Placement  string `json:"placement"`
	Origin     string `json:"origin"`
	Config     struct {
		Version    int      `json:"version"`
		Channels   []string `json:"channels"`
		ChannelIDs bool     `json:"channelIds"`
		Error      string   `json:"error"`
	} `json:"config"`
	TitleAnswered  bool `json:"titleAnswered"`
	ResizeAnswered bool `json:"resizeAnswered"`
}

// pfApp is the app's own origin, another loopback port than the portal: the e2e pages and
// node_modules, and the report endpoint, which hands each report to the test and answers with the
// test's next step.
type pfApp struct {
	ctx     context.Context
	pages   http.Handler
	reports chan pfReportBody
	next    chan string
	srv     *httptest.Server
}

func (a *pfApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != pfReport {
		a.pages.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	var rep pfReportBody
	if err := json.NewDecoder(io.LimitReader(r.Body, pfMaxBody)).Decode(&rep); err != nil {
		http.Error(w, "bad report", http.StatusBadRequest)
		return
	}
	select {
	case a.reports <- rep:
	case <-a.ctx.Done():
		http.Error(w, "the test ended", http.StatusServiceUnavailable)
		return
	}
	next := pfNextDone
	timer := time.NewTimer(pfAnswer)
	defer timer.Stop()
	select {
	case next = <-a.next:
	case <-a.ctx.Done():
	case <-timer.C:
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"next": next})
}

// await returns the app's next report; it fails the test when none comes within pfStep.
func (a *pfApp) await(t *testing.T, page *browser.Page, srv *standin.Server) pfReportBody {
	t.Helper()
	timer := time.NewTimer(pfStep)
	defer timer.Stop()
	select {
	case rep := <-a.reports:
		return rep
	case <-timer.C:
	case <-a.ctx.Done():
	}
	t.Logf("portal page console:\n  %s", strings.Join(page.Console(), "\n  "))
	t.Logf("portal page stats: %+v", srv.PortalFrameStats())
	require.FailNow(t, "the app sent no report")
	return pfReportBody{}
}

// TestPortalFrame hosts an app on its own loopback origin inside the stand-in's portal page and runs
// the official b24jssdk B24Frame in it, unmodified from npm, as ES modules and as the UMD bundle: it
// initialises from the page's postMessage answers with the token the page handed out, calls
// pull.application.config.get through the frame's REST API (cross-origin to the stand-in), and after
// a forced expiry (the page's tokens expired, or an injected 401 expired_token) refreshes through the
// page and succeeds on its retry.
func TestPortalFrame(t *testing.T) {
	browser.Require(t)
	require.NoError(t, webdeps.Check())
	b, err := browser.Launch(context.Background(), t, browser.Options{})
	require.NoError(t, err)
	for _, tc := range []struct{ build, expire string }{
		{"esm", "page"},
		{"umd", "fail_rest"},
	} {
		t.Run(tc.build, func(t *testing.T) { runPortalFrame(t, b, tc.build, tc.expire) })
	}
}

func runPortalFrame(t *testing.T, b *browser.Browser, build, expire string) {
	srv, err := standin.Start(standin.Options{Version: 4})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })

	pages, err := webdeps.NewHandler()
	require.NoError(t, err)
	app := &pfApp{pages: pages, reports: make(chan pfReportBody, 4), next: make(chan string, 1)}
	app.srv = httptest.NewServer(app) // 127.0.0.1, another port than the portal
	t.Cleanup(app.srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), pfRun)
	t.Cleanup(cancel) // runs before app.srv.Close: a report waiting for the test lets go
	app.ctx = ctx

	appURL := app.srv.URL + pfAppPage + "?build=" + build
	pageURL := srv.PortalURL() + standin.PortalFramePath + "?url=" + url.QueryEscape(appURL) + "&user=7&lang=en"
	require.Equal(t, pageURL, srv.PortalFrameURL(appURL, pfUser, false)+"&lang=en")
	page, err := b.NewPage(ctx, pageURL)
	require.NoError(t, err)
	t.Cleanup(page.Close)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("B24PULL_E2E_CONSOLE") != "" {
			t.Logf("portal page console:\n  %s", strings.Join(page.Console(), "\n  "))
		}
	})

	portal, err := url.Parse(srv.PortalURL())
	require.NoError(t, err)

	// The iframe the portal page made: the app URL with what a portal passes.
	var src string
	require.NoError(t, page.Eval(ctx, `document.getElementById('portal-app').src`, &src))
	srcURL, err := url.Parse(src)
	require.NoError(t, err)
	assert.Equal(t, strings.TrimPrefix(app.srv.URL, "http://"), srcURL.Host, "the app runs on its own origin")
	q := srcURL.Query()
	sid := q.Get("APP_SID")
	require.Regexp(t, `^[0-9a-f]{32}$`, sid)
	assert.Equal(t, portal.Host, q.Get("DOMAIN"))
	assert.Equal(t, "0", q.Get("PROTOCOL"))
	assert.Equal(t, "en", q.Get("LANG"))
	assert.Equal(t, build, q.Get("build"), "the app URL's own query is kept")

	// 1. Initialised from the page, first config call through the frame's REST.
	first := app.await(t, page, srv)
	require.Empty(t, first.Error, "the app failed to initialise")
	assert.True(t, first.SDKLoaded)
	assert.Equal(t, "init", first.Step)
	assert.Equal(t, build, first.Build)
	got, err := url.ParseQuery(strings.TrimPrefix(first.Search, "?"))
	require.NoError(t, err)
	for _, k := range []string{"DOMAIN", "PROTOCOL", "LANG", "APP_SID"} {
		assert.Equal(t, q.Get(k), got.Get(k), "the app's URL carries %s", k)
	}
	assert.Equal(t, portal.Host+"|0|"+sid, first.WindowName, "the frame is named DOMAIN|PROTOCOL|APP_SID")
	assert.Equal(t, sid, first.AppSID)
	assert.Equal(t, srv.PortalURL(), first.Origin, "the frame's target origin is the portal page's")
	assert.Equal(t, srv.PortalURL(), first.Domain)
	assert.Equal(t, "en", first.Lang)
	assert.False(t, first.IsAdmin)
	assert.Equal(t, "DEFAULT", first.Placement)
	assert.NotEmpty(t, first.MemberID)
	assert.Equal(t, standin.PortalFrameTokenLifetime, first.ExpiresIn)
	tokens := srv.PortalFrameTokens(sid)
	require.Len(t, tokens, 1)
	require.True(t, first.Token != "" && first.Token == tokens[0], "the frame holds the token the portal page handed out")
	require.Empty(t, first.Config.Error, "the config call failed")
	assert.Equal(t, 4, first.Config.Version)
	assert.Equal(t, []string{"private", "shared"}, first.Config.Channels)
	assert.True(t, first.Config.ChannelIDs)
	st := srv.PortalFrameStats()
	assert.EqualValues(t, 1, st.InitData)
	assert.Zero(t, st.Refreshes)

	// 2. Force an expiry, let the app call again: 401 expired_token, refreshAuth, retry.
	errorsBefore := srv.Stats().RESTErrors
	switch expire {
	case "page":
		var out struct {
			Expired int `json:"expired"`
		}
		pfPost(t, ctx, srv.PortalURL()+standin.PortalFramePath+"/expire?sid="+sid, &out)
		assert.Equal(t, 1, out.Expired)
	case "fail_rest":
		pfPost(t, ctx, srv.PortalURL()+"/standin/fault/fail_rest?code=expired_token&times=1", nil)
	default:
		require.FailNow(t, "unknown expiry "+expire)
	}
	app.next <- pfNextCall

	second := app.await(t, page, srv)
	require.Empty(t, second.Error, "the second step failed")
	require.Empty(t, second.Config.Error, "the call after the expiry failed")
	assert.Equal(t, 4, second.Config.Version)
	assert.Equal(t, []string{"private", "shared"}, second.Config.Channels)
	tokens = srv.PortalFrameTokens(sid)
	require.Len(t, tokens, 2, "the frame refreshed its token through the page once")
	require.True(t, second.Token != first.Token && second.Token == tokens[1], "the frame uses the refreshed token")
	assert.True(t, second.TitleAnswered, "setTitle was answered")
	assert.True(t, second.ResizeAnswered, "resizeWindow was answered")
	assert.Equal(t, int64(1), srv.Stats().RESTErrors-errorsBefore, "exactly one call answered expired_token")
	st = srv.PortalFrameStats()
	assert.EqualValues(t, 1, st.InitData)
	assert.EqualValues(t, 1, st.Refreshes)
	assert.EqualValues(t, 1, st.Commands["setTitle"])
	assert.EqualValues(t, 1, st.Commands["resizeWindow"])
	app.next <- pfNextDone

	var frame struct {
		Received int `json:"received"`
		Answered int `json:"answered"`
		Rejected int `json:"rejected"`
		Failed   int `json:"failed"`
	}
	require.NoError(t, page.Eval(ctx, `window.portalFrame`, &frame))
	assert.Equal(t, 4, frame.Received, "getInitData, refreshAuth, setTitle, resizeWindow")
	assert.Equal(t, frame.Received, frame.Answered)
	assert.Zero(t, frame.Rejected)
	assert.Zero(t, frame.Failed)
	assert.Empty(t, page.Exceptions())
}

// pfPost posts an empty body to a stand-in endpoint and decodes the JSON answer into out (nil
// discards it).
func pfPost(t *testing.T, ctx context.Context, u string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, pfMaxBody))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	if out != nil {
		require.NoError(t, json.Unmarshal(body, out), fmt.Sprintf("answer of %s", u))
	}
}
