//go:build !js

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/b24pull/b24pull/protocol"
)

// HTTPREST calls Bitrix24 REST methods over HTTP with an access token, as a server-side app or a test
// does: POST <Base>/rest/<method>.json with a JSON body carrying the parameters and auth. In a
// browser app the bridge uses the app's own BX24 session instead.
type HTTPREST struct {
	// Base is the portal's address, e.g. https://example.bitrix24.com.
	Base string
	// Auth is the access token. It is sent in the body, never in the URL.
	Auth string
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
}

// maxRESTAnswer bounds a REST answer read into memory.
const maxRESTAnswer = 8 << 20

// Call implements REST.
func (r *HTTPREST) Call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	body := make(map[string]any, len(params)+1)
	for k, v := range params {
		body[k] = v
	}
	body["auth"] = r.Auth
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the parameters of %s: %w", method, err)
	}
	url := strings.TrimRight(r.Base, "/") + "/rest/" + method + ".json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("failed to call %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := r.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to call %s: %w", method, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxRESTAnswer))
	if err != nil {
		return nil, fmt.Errorf("failed to read the answer of %s: %w", method, err)
	}
	if rerr, ok := protocol.ParseRESTError(answer, resp.StatusCode); ok {
		return nil, rerr
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("failed to call %s: HTTP %d", method, resp.StatusCode)
	}
	return answer, nil
}
