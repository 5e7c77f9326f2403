package protocol

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKnownRESTErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code      string
		status    int
		desc      string
		class     ErrorClass
		retryable bool
	}{
		{"WRONG_AUTH_TYPE", 403, "Get access to application config available only for application authorization.", ClassPermission, false},
		{"AUTHORIZE_ERROR", 403, "Method not available for guest session at the moment.", ClassPermission, false},
		{"SERVER_ERROR", 500, "Push & Pull server is not configured", ClassNotConfigured, true},
		{"INTERNAL_SERVER_ERROR", 500, "Internal server error", ClassTransient, true},
		{"ERROR_UNEXPECTED_ANSWER", 500, "Server returned an unexpected response", ClassTransient, true},
		{"QUERY_LIMIT_EXCEEDED", 503, "Too many requests", ClassTransient, true},
		{"OPERATION_TIME_LIMIT", 429, "Method is blocked due to operation time limit.", ClassTransient, true},
		{"NO_AUTH_FOUND", 401, "Wrong authorization data", ClassToken, true},
		{"expired_token", 401, "The access token provided has expired", ClassToken, true},
		{"invalid_token", 401, "The access token provided is invalid", ClassToken, true},
		{"INVALID_REQUEST", 400, "Https required", ClassPermission, false},
		{"OVERLOAD_LIMIT", 503, "REST API is blocked due to overload", ClassTerminal, false},
		{"ACCESS_DENIED", 403, "REST API is available only on commercial plans", ClassPermission, false},
		{"INVALID_CREDENTIALS", 403, "Invalid request credentials", ClassPermission, false},
		{"insufficient_scope", 403, "The request requires higher privileges than provided by the webhook token", ClassPermission, false},
		{"user_access_error", 403, "The user does not have access to the application", ClassPermission, false},
		{"PORTAL_DELETED", 500, "Portal was deleted", ClassTerminal, false},
		{"ERROR_BATCH_METHOD_NOT_ALLOWED", 405, "Method is not allowed for batch usage", ClassTerminal, false},
		{"ERROR_BATCH_LENGTH_EXCEEDED", 400, "Max batch length exceeded", ClassTerminal, false},
		{"ERROR_MANIFEST_IS_NOT_AVAILABLE", 404, "Manifest is not available", ClassTerminal, false},
	}
	require.Len(t, tests, len(knownRESTErrors), "every table entry is tested")
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			status, desc, class, ok := KnownRESTError(tt.code)
			require.True(t, ok)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.desc, desc)
			assert.Equal(t, tt.class, class)

			// The answer the stand-in would send parses back into the same typed error.
			body := marshal(t, map[string]string{"error": tt.code, "error_description": desc})
			e, ok := ParseRESTError(body, status)
			require.True(t, ok)
			assert.Equal(t, &RESTError{Code: tt.code, Description: tt.desc, Status: tt.status}, e)
			assert.Equal(t, tt.class, e.Class())
			assert.Equal(t, tt.retryable, e.Retryable())
			assert.Equal(t, "rest error "+tt.code+": "+tt.desc, e.Error())

			// Through ParseConfig, with the status taken from the table.
			_, err := ParseConfig(body, testNow)
			got, ok := AsRESTError(err)
			require.True(t, ok)
			assert.Equal(t, tt.status, got.Status)
		})
	}
}

func TestRESTErrorClassFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   string
		status int
		class  ErrorClass
	}{
		{"EXPIRED_TOKEN", 0, ClassToken}, // case does not matter
		{"Server_Error", 0, ClassNotConfigured},
		{"SOMETHING_NEW", 503, ClassTransient},
		{"SOMETHING_NEW", 429, ClassTransient},
		{"SOMETHING_NEW", 502, ClassTransient},
		{"SOMETHING_NEW", 504, ClassTransient},
		{"SOMETHING_NEW", 500, ClassUnknown},
		{"SOMETHING_NEW", 0, ClassUnknown},
	}
	for _, tt := range tests {
		e := &RESTError{Code: tt.code, Status: tt.status}
		assert.Equal(t, tt.class, e.Class(), "%s %d", tt.code, tt.status)
		assert.Equal(t, tt.class == ClassToken || tt.class == ClassNotConfigured || tt.class == ClassTransient, e.Retryable())
	}
	_, _, class, ok := KnownRESTError("SOMETHING_NEW")
	assert.False(t, ok)
	assert.Equal(t, ClassUnknown, class)
}

func TestErrorClassString(t *testing.T) {
	t.Parallel()
	want := map[ErrorClass]string{
		ClassUnknown: "unknown", ClassToken: "token", ClassPermission: "permission",
		ClassNotConfigured: "not-configured", ClassTransient: "transient", ClassTerminal: "terminal", ErrorClass(99): "unknown",
	}
	for c, s := range want {
		assert.Equal(t, s, c.String())
	}
}

func TestParseRESTError(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 600) // 1200 bytes
	tests := []struct {
		name   string
		body   string
		status int
		want   *RESTError
	}{
		{"no description", `{"error":"SOMETHING_NEW"}`, 418, &RESTError{Code: "SOMETHING_NEW", Status: 418}},
		{"description not a string", `{"error":"SERVER_ERROR","error_description":5}`, 0, &RESTError{Code: "SERVER_ERROR", Status: 500}},
		{"status kept", `{"error":"SERVER_ERROR","error_description":"x"}`, 502, &RESTError{Code: "SERVER_ERROR", Description: "x", Status: 502}},
		{"unknown code without status", `{"error":"X"}`, 0, &RESTError{Code: "X"}},
		{"with result", `{"result":{},"error":"X","error_description":"y"}`, 0, &RESTError{Code: "X", Description: "y"}},
		{"long description cut on a rune", `{"error":"X","error_description":"` + long + `"}`, 0, &RESTError{Code: "X", Description: strings.Repeat("é", 512)}},
		{"long code cut", `{"error":"` + strings.Repeat("A", 300) + `"}`, 0, &RESTError{Code: strings.Repeat("A", 128)}},
		{"not JSON", `{"error":`, 0, nil},
		{"not an object", `["error"]`, 0, nil},
		{"no error key", `{"result":{"error":"X"}}`, 0, nil},
		{"empty code", `{"error":""}`, 0, nil},
		{"code not a string", `{"error":true,"error_description":"x"}`, 0, nil},
		{"a numeric code (controller errors)", `{"error":100,"error_description":"Could not find value for parameter {userIds}"}`, 400,
			&RESTError{Code: "100", Description: "Could not find value for parameter {userIds}", Status: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseRESTError([]byte(tt.body), tt.status)
			assert.Equal(t, tt.want != nil, ok)
			assert.Equal(t, tt.want, got)
		})
	}
	e := &RESTError{Code: "X"}
	assert.Equal(t, "rest error X", e.Error())
}

func TestAsRESTError(t *testing.T) {
	t.Parallel()
	base := &RESTError{Code: "expired_token", Status: 401}
	wrapped := fmt.Errorf("failed to load config: %w", base)
	got, ok := AsRESTError(wrapped)
	require.True(t, ok)
	assert.Same(t, base, got)
	_, ok = AsRESTError(errors.New("plain"))
	assert.False(t, ok)
	_, ok = AsRESTError(nil)
	assert.False(t, ok)
}

func TestConfigError(t *testing.T) {
	t.Parallel()
	e := &ConfigError{Field: "channels", Reason: "no channel id and no jwt", Err: ErrNoChannels}
	assert.Equal(t, "config: channels: no channel id and no jwt", e.Error())
	assert.ErrorIs(t, e, ErrNoChannels)
	assert.ErrorIs(t, e, ErrInvalidConfig)
	assert.NotErrorIs(t, e, ErrEmptyPath)
	assert.Equal(t, "config: answer is not a JSON object", (&ConfigError{Reason: "answer is not a JSON object"}).Error())
	for _, s := range []error{ErrInvalidConfig, ErrNoChannels, ErrEmptyPath, ErrSharedWithoutClientID} {
		assert.True(t, strings.HasPrefix(s.Error(), "protocol: "), s.Error())
	}
}

func TestTruncateUTF8(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "ab", truncateUTF8("ab", 5))
	assert.Equal(t, "a", truncateUTF8("a✓", 3))
	assert.Equal(t, "", truncateUTF8("✓", 2))
}
