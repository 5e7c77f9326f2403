package protocol

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ResultJSON writes a config that ParseConfig reads back to the same Config, for every config
// fixture.
func TestResultJSONRoundTrips(t *testing.T) {
	files, err := filepath.Glob("testdata/config/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	now := time.Date(2025, 5, 14, 7, 30, 0, 0, time.UTC)
	n := 0
	for _, f := range files {
		answer, err := os.ReadFile(f)
		require.NoError(t, err)
		cfg, err := ParseConfig(answer, now)
		if err != nil {
			continue // fixtures of broken configs
		}
		n++
		again, err := ParseConfig(cfg.ResultJSON(), now)
		require.NoError(t, err, f)
		assert.Equal(t, cfg, again, f)
	}
	assert.Positive(t, n)
}
