package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeJSDir writes a stand-in browser package: the command only checks that it exists.
func fakeJSDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"b24pull.mjs", "b24pull.wasm"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644))
	}
	return dir
}

// TestRunServesAndStops runs the command on a free port: it prints one line with the page URL, serves
// the page there, and stops cleanly when its context ends (as on SIGINT).
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "0", "-version", "5", "-lifetime", "30s", "-coalesce", "0",
			"-user", "7", "-js", fakeJSDir(t)}, outW, io.Discard)
		_ = outW.Close()
		done <- err
	}()

	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var first string
	select {
	case first = <-lines:
	case err := <-done:
		require.FailNow(t, "run ended early", "%v", err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no address printed")
	}
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`).FindString(first)
	require.NotEmpty(t, url, "printed line: %q", first)
	assert.Contains(t, first, "push server v5")

	res, err := http.Get(url)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "b24pull")

	res, err = http.Get(url + "demo/session")
	require.NoError(t, err)
	body, err = io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.NoError(t, err)
	assert.Contains(t, string(body), `"user":7`)
	assert.Contains(t, string(body), `"lifetime":30`)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		require.FailNow(t, "run did not stop")
	}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	assert.Equal(t, []string{"b24pull demo stopped"}, rest)
	_, err = http.Get(url)
	assert.Error(t, err, "the server must be closed")
}

func TestRunFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"extra argument", []string{"-js", "x", "extra"}, "unexpected arguments"},
		{"missing package", []string{"-addr", "0", "-js", "/nonexistent/js"}, "build-wasm.sh"},
		{"bad version", []string{"-addr", "0", "-version", "2"}, "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.name == "bad version" {
				args = append(args, "-js", fakeJSDir(t))
			}
			var errOut strings.Builder
			err := run(context.Background(), args, io.Discard, &errOut)
			require.Error(t, err)
			assert.Contains(t, err.Error()+errOut.String(), tt.want)
		})
	}
	err := run(context.Background(), []string{"-h"}, io.Discard, io.Discard)
	assert.True(t, errors.Is(err, flag.ErrHelp))
}

// TestRunSaysWhenTheOfficialClientIsMissing runs the command with a -web folder that holds no
// official client: the demo serves all the same, and a line on stderr says that the side-by-side
// switch is off and how to install what it needs.
func TestRunSaysWhenTheOfficialClientIsMissing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var errOut strings.Builder
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "0", "-js", fakeJSDir(t), "-web", t.TempDir()}, outW, &errOut)
		_ = outW.Close()
		done <- err
	}()
	sc := bufio.NewScanner(outR)
	require.True(t, sc.Scan(), "no address printed")
	assert.Contains(t, sc.Text(), "open http://127.0.0.1:")
	cancel()
	go func() {
		for sc.Scan() {
		}
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		require.FailNow(t, "run did not stop")
	}
	assert.Contains(t, errOut.String(), "the side-by-side switch is off")
	assert.Contains(t, errOut.String(), "scripts/ensure-npm.sh")
}
