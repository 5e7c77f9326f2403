package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseConfig feeds arbitrary answers to ParseConfig and, for every answer it accepts, runs the
// rest of the config API: nothing may panic, a config is either returned or an error is (never both),
// and a redacted connection URL keeps none of the config's secrets.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"result":{"server":{"version":4,"websocket":"ws://h/"},"channels":{"shared":{"id":"a.b","start":1,"end":2}}}}`))
	f.Add([]byte(`{"error":"expired_token","error_description":"The access token provided has expired"}`))
	now := time.Date(2025, 5, 14, 7, 30, 42, 0, time.UTC)
	f.Fuzz(func(t *testing.T, answer []byte) {
		c, err := ParseConfig(answer, now)
		if err != nil {
			if c != nil {
				t.Fatalf("both a config and an error: %v", err)
			}
			var re *RESTError
			if !errors.As(err, &re) && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("untyped error: %v", err)
			}
			if re != nil {
				_ = re.Class().String()
				_ = re.Retryable()
			}
			return
		}
		if c.Server.Version < 1 {
			t.Fatalf("accepted version %d", c.Server.Version)
		}
		if c.Server.Mode != ModePersonal && c.Server.Mode != ModeShared {
			t.Fatalf("accepted mode %q", c.Server.Mode)
		}
		if c.TimeShift%time.Second != 0 {
			t.Fatalf("time shift %v is not whole seconds", c.TimeShift)
		}
		secrets := c.Secrets()
		for _, tr := range []Transport{TransportWebSocket, TransportLongPolling} {
			for _, secure := range []bool{false, true} {
				u, err := c.ConnectionURL(tr, secure, Resume{MID: "1", Tag: "t", Time: "x y"})
				if err != nil {
					// a plain *_secure URL is refused only on a secure page (mixed content)
					if !errors.Is(err, ErrEmptyPath) && !errors.Is(err, ErrNoChannels) &&
						!(secure && errors.Is(err, ErrInsecureURL)) {
						t.Fatalf("unexpected URL error: %v", err)
					}
					continue
				}
				checkRedacted(t, Redact(RedactURL(u), secrets), c)
			}
		}
		if u, err := c.PublicationURL(true); err == nil {
			checkRedacted(t, Redact(RedactURL(u), secrets), c)
		}
		if _, err := json.Marshal(c.Facts()); err != nil {
			t.Fatalf("facts do not marshal: %v", err)
		}
		_ = c.Expiry()
	})
}

// checkRedacted fails when text still carries one of the config's signed ids, its JWT or its clientId.
func checkRedacted(t *testing.T, text string, c *Config) {
	t.Helper()
	whole := []string{c.JWT, c.ClientID}
	for _, ch := range []*Channel{c.Channels.Private, c.Channels.Shared} {
		if ch != nil {
			whole = append(whole, ch.ID)
		}
	}
	for _, s := range whole {
		// Very short values can occur by chance in the rest of the URL.
		if len(s) >= 12 && strings.Contains(text, s) {
			t.Fatalf("secret left in %q", text)
		}
	}
}
