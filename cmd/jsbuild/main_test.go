package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassic(t *testing.T) {
	t.Parallel()
	good := baseLine + "\nconst x = 1;\n" + exportDecl + "o) { return x; }\n"
	tests := []struct {
		name    string
		src     string
		wantErr string
	}{
		{"good", good, ""},
		{"no base line", "const x = 1;\n" + exportDecl + "o) {}\n", "exactly one"},
		{"two base lines", baseLine + "\n" + good, "exactly one"},
		{"no export", baseLine + "\nasync function createPullClient(o) {}\n", "exactly one"},
		{"another export", good + "export const y = 2;\n", "line 4"},
		{"another import.meta", good + "const z = import.meta.url;\n", "line 4"},
		{"a static import", "import x from './x.js';\n" + good, "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := classic(tc.src, "m.mjs")
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, out, classicBase)
			assert.Contains(t, out, plainDecl)
			assert.NotContains(t, out, "export ")
			assert.NotContains(t, out, "import.meta")
			assert.Contains(t, out, "globalThis.B24Pull = Object.freeze({ createPullClient });")
		})
	}
}

// TestRealModule checks that the shipped module converts.
func TestRealModule(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "b24pull.js")
	require.NoError(t, run(filepath.Join("..", "..", "js", "b24pull.mjs"), out))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(got), "globalThis.B24Pull")
}
