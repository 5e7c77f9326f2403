//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// restError is a portal REST error answer.
type restError struct {
	Status      int
	Code        string
	Description string
}

func (e *restError) Error() string {
	return fmt.Sprintf("rest error %d %s: %s", e.Status, e.Code, e.Description)
}

// callREST calls a portal REST method the way an app backend would: POST
// <portal>/rest/<method>.json with a JSON body carrying auth, and decodes the
// answer's result into out. REST errors come back as *restError.
func callREST(ctx context.Context, portal, method, auth string, params map[string]any, out any) error {
	body := map[string]any{"auth": auth}
	for k, v := range params {
		body[k] = v
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("failed to encode %s params: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, portal+"/rest/"+method+".json", bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("failed to build the %s request: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("failed to call %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("failed to read the %s answer: %w", method, err)
	}
	var answer struct {
		Result           json.RawMessage `json:"result"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return fmt.Errorf("failed to decode the %s answer (HTTP %d): %w", method, resp.StatusCode, err)
	}
	if answer.Error != "" || resp.StatusCode != http.StatusOK {
		return &restError{Status: resp.StatusCode, Code: answer.Error, Description: answer.ErrorDescription}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer.Result, out); err != nil {
		return fmt.Errorf("failed to decode the %s result: %w", method, err)
	}
	return nil
}
