package protocol

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseExtra(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		extra string
		want  Extra
	}{
		{`{"server_time":"2025-05-14T09:40:00+02:00","server_time_unix":1747208400.317,"server_name":"portal.example.test","revision_web":19,"revision_mobile":3}`,
			Extra{RevisionWeb: 19, ServerTimeUnix: 1747208400.317}},
		{`{}`, Extra{}},
		{``, Extra{}},
		// revision_web counts only as a JSON number; a fraction is cut off
		{`{"revision_web":"20"}`, Extra{}},
		{`{"revision_web":20.9}`, Extra{RevisionWeb: 20}},
		{`{"revision_web":-3}`, Extra{RevisionWeb: -3}},
		{`{"revision_web":null}`, Extra{}},
		// server_time_unix as a number or a numeric string; 0 when not positive and finite
		{`{"server_time_unix":"1747208400.5"}`, Extra{ServerTimeUnix: 1747208400.5}},
		{`{"server_time_unix":"soon"}`, Extra{}},
		{`{"server_time_unix":"NaN"}`, Extra{}},
		{`{"server_time_unix":"Inf"}`, Extra{}},
		{`{"server_time_unix":1e400}`, Extra{}},
		{`{"server_time_unix":0}`, Extra{}},
		{`{"server_time_unix":-1747208400}`, Extra{}},
		{`{"server_time_unix":true}`, Extra{}},
		{`{"server_time_unix":{"sec":1}}`, Extra{}},
		// a repeated key counts with its first value
		{`{"revision_web":20,"revision_web":21,"server_time_unix":5,"server_time_unix":6}`, Extra{RevisionWeb: 20, ServerTimeUnix: 5}},
		// only the top level counts
		{`{"sender":{"revision_web":20,"server_time_unix":5}}`, Extra{}},
	} {
		assert.Equal(t, tc.want, ParseExtra([]byte(tc.extra)), tc.extra)
	}
}
