//go:build !js

package standin

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// restRaw posts a form-encoded REST call and returns the status, the Content-Type and the body as
// they came, JSON or not.
func restRaw(t *testing.T, s *Server, method string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := testClient.PostForm(s.PortalURL()+"/rest/"+method+".json", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// A hiccup of a portal behind a reverse proxy: FailREST's coded error goes first, then the calls
// FailRESTWithPage asked for answer the proxy's HTML page (not JSON) with its status, then the portal
// answers again. Each failure counts as a REST error.
func TestFailRESTWithPage(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, tuning{})
	form := url.Values{"auth": {s.NewToken(1, false)}}

	s.FailREST("INTERNAL_SERVER_ERROR", 1)
	s.FailRESTWithPage(http.StatusBadGateway, 2)
	errorsBefore := s.Stats().RESTErrors

	status, kind, body := restRaw(t, s, "pull.application.config.get", form)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Contains(t, kind, "application/json")
	assert.Equal(t, "INTERNAL_SERVER_ERROR", gjson.Get(body, "error").String())

	for i := 0; i < 2; i++ {
		status, kind, body = restRaw(t, s, "pull.application.config.get", form)
		assert.Equal(t, http.StatusBadGateway, status, "call %d", i+2)
		assert.Equal(t, "text/html", kind)
		assert.False(t, gjson.Valid(body), "the page must not be JSON: %s", body)
		assert.Contains(t, body, "<title>502 Bad Gateway</title>")
		assert.True(t, strings.HasPrefix(body, "<html>"), "%s", body)
	}

	status, _, body = restRaw(t, s, "pull.application.config.get", form)
	assert.Equal(t, http.StatusOK, status, "%s", body)
	assert.True(t, gjson.Get(body, "result.channels").Exists(), "%s", body)
	assert.Equal(t, int64(3), s.Stats().RESTErrors-errorsBefore)

	// Another status, cancelled before it is used; a status that is not an error means 502.
	s.FailRESTWithPage(http.StatusServiceUnavailable, 1)
	s.FailRESTWithPage(http.StatusServiceUnavailable, 0)
	status, _, _ = restRaw(t, s, "pull.application.event.add", url.Values{"auth": form["auth"], "COMMAND": {"x"}})
	assert.Equal(t, http.StatusOK, status)
	s.FailRESTWithPage(http.StatusOK, 1)
	status, _, body = restRaw(t, s, "pull.application.config.get", form)
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Contains(t, body, "502 Bad Gateway")

	// Over HTTP: status and times.
	code, answer := standinCall(t, s, "fault/fail_rest_page?status=504&times=1", "")
	require.Equal(t, http.StatusOK, code, "%s", answer.Raw)
	status, kind, body = restRaw(t, s, "pull.application.config.get", form)
	assert.Equal(t, http.StatusGatewayTimeout, status)
	assert.Equal(t, "text/html", kind)
	assert.Contains(t, body, "<h1>504 Gateway Timeout</h1>")
	status, _, _ = restRaw(t, s, "pull.application.config.get", form)
	assert.Equal(t, http.StatusOK, status)
}
