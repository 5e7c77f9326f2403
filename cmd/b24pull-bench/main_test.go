//go:build !js

package main

import (
	"io"
	"testing"
	"time"

	"github.com/b24pull/b24pull/bench"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	opts, err := parse(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "quick", opts.cfg.Preset)
	assert.Equal(t, bench.Quick().BurstEvents, opts.cfg.BurstEvents)

	opts, err = parse([]string{"-preset", "full", "-versions", "4, 5", "-coalesce", "0", "-only", "burst,cold",
		"-rounds", "7", "-events", "100", "-memory-events", "50", "-cold-rounds", "9", "-json", "out.json", "-variant", "/tmp/v"}, io.Discard)
	require.NoError(t, err)
	cfg := opts.cfg
	assert.Equal(t, "full", cfg.Preset)
	assert.Equal(t, []int{4, 5}, cfg.Versions)
	assert.Equal(t, []time.Duration{0}, cfg.Coalesce)
	assert.Equal(t, []string{"burst", "cold"}, cfg.Workloads)
	assert.Equal(t, 7, cfg.BurstRounds)
	assert.Equal(t, 100, cfg.BurstEvents)
	assert.Equal(t, 50, cfg.MemoryEvents)
	assert.Equal(t, 9, cfg.ColdRounds)
	assert.Equal(t, bench.Full().SteadyDuration, cfg.SteadyDuration, "what no flag names keeps the preset's value")
	assert.Equal(t, "out.json", opts.jsonOut)
	assert.Equal(t, "/tmp/v", cfg.VariantDir)

	for _, bad := range [][]string{
		{"-preset", "huge"},
		{"-versions", "four"},
		{"-coalesce", "-400"},
		{"-nope"},
		{"extra"},
	} {
		_, err := parse(bad, io.Discard)
		assert.Error(t, err, "%v", bad)
	}
}
