//go:build !js

package standin

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the run when goroutines outlive the tests: every stand-in was closed by then, so
// anything left is a leak.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	testClient.CloseIdleConnections()
	if code == 0 {
		if n, ok := settleGoroutines(before, 5*time.Second); !ok {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "goroutine leak: %d before, %d after\n%s\n", before, n, buf)
			code = 1
		}
	}
	os.Exit(code)
}

// settleGoroutines polls until at most want goroutines run, up to grace.
func settleGoroutines(want int, grace time.Duration) (int, bool) {
	deadline := time.Now().Add(grace)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return n, true
		}
		if time.Now().After(deadline) {
			return n, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
