//go:build !js

package bridge

import (
	"go/build/constraint"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJSFilesCarryBuildConstraint fails when a *_js.go file of the package lacks the
// "//go:build js && wasm" line: the _js suffix alone also matches GOOS=js with another GOARCH, and
// the constraint is what keeps syscall/js at the edge of the code base.
func TestJSFilesCarryBuildConstraint(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*_js*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files, "the package has no _js.go files")
	for _, name := range files {
		if !strings.HasSuffix(name, "_js.go") && !strings.HasSuffix(name, "_js_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		assert.Truef(t, hasJSWasmConstraint(string(src)), "%s: first line must be //go:build js && wasm", name)
	}
}

// hasJSWasmConstraint reports whether src starts with a //go:build line equivalent to js && wasm.
func hasJSWasmConstraint(src string) bool {
	first, _, _ := strings.Cut(src, "\n")
	expr, err := constraint.Parse(first)
	if err != nil {
		return false
	}
	combos := []struct {
		goos, goarch string
		want         bool
	}{
		{"js", "wasm", true},
		{"linux", "amd64", false},
		{"wasip1", "wasm", false},
		{"js", "amd64", false},
	}
	for _, c := range combos {
		got := expr.Eval(func(tag string) bool { return tag == c.goos || tag == c.goarch })
		if got != c.want {
			return false
		}
	}
	return true
}

func TestHasJSWasmConstraint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want bool
	}{
		{"//go:build js && wasm\n\npackage bridge", true},
		{"//go:build wasm && js\n", true},
		{"//go:build js\n", false},
		{"//go:build wasm\n", false},
		{"package bridge\n", false},
		{"// Package bridge\n//go:build js && wasm\n", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, hasJSWasmConstraint(tt.src), tt.src)
	}
}
