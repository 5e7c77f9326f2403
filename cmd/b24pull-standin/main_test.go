//go:build !js

package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-version", "x"},
		{"-version", "9", "-portal", "127.0.0.1:0", "-push", "127.0.0.1:0"},
		{"-portal", "0.0.0.0:0"},
		{"-mode", "cloud", "-portal", "127.0.0.1:0", "-push", "127.0.0.1:0"},
		{"stray"},
	} {
		err := run(context.Background(), args, io.Discard)
		assert.Error(t, err, "%v", args)
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-portal", "127.0.0.1:0", "-push", "127.0.0.1:0", "-version", "5", "-user", "7"}, pw)
		pw.Close()
	}()
	lines := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(lines) < 4 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		lines[k] = strings.TrimSpace(v)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.Len(t, lines, 4)
	token, _, _ := strings.Cut(lines["token"], " ")
	resp, err := http.Get(lines["portal"] + "/rest/pull.application.config.get.json?auth=" + token)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `"version":5`)
	assert.Contains(t, string(body), `"jwt":`)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
