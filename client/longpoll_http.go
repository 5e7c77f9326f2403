//go:build !js

package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// HTTPLongPoller is a LongPoller over net/http.
type HTTPLongPoller struct {
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
}

// Get implements LongPoller.
func (p HTTPLongPoller) Get(ctx context.Context, url string, limit int64) (LongPollAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return LongPollAnswer{}, err
	}
	hc := p.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return LongPollAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return LongPollAnswer{}, err
	}
	if int64(len(body)) > limit {
		return LongPollAnswer{}, fmt.Errorf("long-polling answer over %d bytes", limit)
	}
	return LongPollAnswer{Status: resp.StatusCode, Body: body,
		Expires: resp.Header.Get("Expires"), LastMessageID: resp.Header.Get("Last-Message-Id")}, nil
}

func defaultLongPoller() LongPoller { return HTTPLongPoller{} }
