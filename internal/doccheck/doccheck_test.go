//go:build !js

package doccheck

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/b24pull/b24pull/internal/webdeps"
)

// protocolDoc is the file every section reference points at, relative to the repository root.
const protocolDoc = "docs/protocol.md"

// The bare file name and the old wording for the write-up, built so that this file does not hold them.
var (
	bareName  = "protocol" + ".md"
	notesName = "protocol" + " notes"
)

// lastSection is the last top-level section; every one from 1 to it must keep its heading.
const lastSection = 23

// scanned are the extensions of the files whose references are checked.
var scanned = []string{".go", ".js", ".mjs", ".ts", ".sh", ".md", ".html"}

var (
	// topHeading and subHeading are the heading forms of docs/protocol.md: "## 6. Wire formats" and
	// "### 6.3 Protobuf".
	topHeading = regexp.MustCompile(`^##\s+(\d+)\.\s`)
	subHeading = regexp.MustCompile(`^###\s+(\d+\.\d+)\s`)
	// sectionRef is one reference: "§6", "§6.3", "§ 6.3".
	sectionRef = regexp.MustCompile(`§\s?(\d+(?:\.\d+)?)`)
	// foreignDoc matches the end of the text before a reference that names another document: an RFC
	// or a Markdown file other than the protocol write-up ("RFC 7232 §4.1", "toolchain.md §4").
	foreignDoc = regexp.MustCompile(`(?i)(?:\brfc\s*\d+|[\w./-]*\.md)\W{0,2}$`)
)

// ref is one section reference found in a file.
type ref struct {
	section string
	foreign bool // the reference names another document, not docs/protocol.md
}

// lineRefs returns the section references of one line.
func lineRefs(line string) []ref {
	var out []ref
	for _, m := range sectionRef.FindAllStringSubmatchIndex(line, -1) {
		before := line[:m[0]]
		foreign := false
		if d := foreignDoc.FindString(before); d != "" {
			name := strings.ToLower(strings.TrimRight(d, " \t`*_([\"'"))
			foreign = !strings.HasSuffix(name, bareName)
		}
		out = append(out, ref{section: line[m[2]:m[3]], foreign: foreign})
	}
	return out
}

// oldForm reports why a line names the protocol write-up without its path, or "" when it does not.
func oldForm(line string) string {
	lower := strings.ToLower(line)
	for i := 0; ; {
		j := strings.Index(lower[i:], bareName)
		if j < 0 {
			break
		}
		at := i + j
		if !strings.HasSuffix(lower[:at], "docs/") {
			return "names " + bareName + " without docs/"
		}
		i = at + len(bareName)
	}
	if strings.Contains(lower, notesName) && !strings.Contains(lower, protocolDoc) {
		return `says "` + notesName + `" instead of ` + protocolDoc
	}
	return ""
}

// headings returns the section numbers docs/protocol.md has headings for.
func headings(t *testing.T, root string) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, protocolDoc))
	require.NoError(t, err)
	got := map[string]bool{}
	inFence := false
	for line := range strings.SplitSeq(string(src), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if m := topHeading.FindStringSubmatch(line); m != nil {
			got[m[1]] = true
		} else if m := subHeading.FindStringSubmatch(line); m != nil {
			got[m[1]] = true
		}
	}
	return got
}

// repoFiles lists the files to scan, relative to root: the files git tracks (as they are in the
// working tree), or, without git, every file outside .git, node_modules and build output.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached").Output()
	if err == nil {
		for name := range bytes.SplitSeq(out, []byte{0}) {
			if len(name) > 0 {
				names = append(names, filepath.FromSlash(string(name)))
			}
		}
	} else {
		t.Logf("git ls-files failed (%v): walking the tree instead", err)
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				switch d.Name() {
				case ".git", "node_modules", "bin", "dist":
					return filepath.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			names = append(names, rel)
			return nil
		})
		require.NoError(t, err)
	}
	// The write-up itself is always checked, tracked yet or not.
	keep := []string{filepath.FromSlash(protocolDoc)}
	for _, name := range names {
		if slices.Contains(scanned, filepath.Ext(name)) {
			keep = append(keep, name)
		}
	}
	slices.Sort(keep)
	return slices.Compact(keep)
}

// TestSectionReferencesResolve fails, naming file:line, for every section reference that
// docs/protocol.md has no heading for, and for every mention of the write-up that does not give its
// path.
func TestSectionReferencesResolve(t *testing.T) {
	t.Parallel()
	root, err := webdeps.RepoRoot()
	require.NoError(t, err)
	have := headings(t, root)
	for n := 1; n <= lastSection; n++ {
		assert.Truef(t, have[strconv.Itoa(n)], "%s has no heading for section %d: the numbering is fixed", protocolDoc, n)
	}

	files := repoFiles(t, root)
	require.NotEmpty(t, files)
	checked := 0
	for _, name := range files {
		f, err := os.Open(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree, still in the index
		}
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			where := filepath.ToSlash(name) + ":" + strconv.Itoa(n)
			if why := oldForm(line); why != "" {
				t.Errorf("%s: %s", where, why)
			}
			for _, r := range lineRefs(line) {
				if r.foreign {
					continue
				}
				checked++
				if !have[r.section] {
					t.Errorf("%s: §%s has no heading in %s", where, r.section, protocolDoc)
				}
			}
		}
		require.NoError(t, sc.Err(), name)
		require.NoError(t, f.Close())
	}
	t.Logf("%d section references in %d files resolve to %s", checked, len(files), protocolDoc)
}

// The matchers on their own. The section sign is written as an escape, so that these cases are not
// references themselves.
func TestLineRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want []ref
	}{
		{"// Server modes (docs/protocol.md \u00a71.3).", []ref{{"1.3", false}}},
		{"// the delays of docs/protocol.md \u00a712\u2013\u00a715.", []ref{{"12", false}, {"15", false}}},
		{"// (\u00a78.3, \u00a79) and \u00a76.3.", []ref{{"8.3", false}, {"9", false}, {"6.3", false}}},
		{"see \u00a7 2.5 \"Recommended classification\"", []ref{{"2.5", false}}},
		{"// net/http (RFC 7232 \u00a74.1)", []ref{{"4.1", true}}},
		{"// (toolchain.md \u00a74: no sandbox)", []ref{{"4", true}}},
		{"| `docs/protocol.md` \u00a72.5 |", []ref{{"2.5", false}}},
		{"// " + bareName + " \u00a76.1", []ref{{"6.1", false}}},
		{"no reference, \u00a7 alone", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, lineRefs(tt.line), tt.line)
	}
}

func TestOldForm(t *testing.T) {
	t.Parallel()
	ok := []string{
		"// Config is a parsed answer (docs/protocol.md \u00a72.2).",
		"details in the protocol write-up, docs/protocol.md",
		"// the " + notesName + " (docs/protocol.md) say",
		"no mention at all",
	}
	for _, line := range ok {
		assert.Empty(t, oldForm(line), line)
	}
	bad := []string{
		"// (" + bareName + " \u00a712.1)",
		"// the delays of " + bareName + ":",
		"// (\u00a72.2 of the " + notesName + ")",
		"Measured against defects (details in the " + notesName + "):",
		"docs/protocol.md and ./" + bareName,
	}
	for _, line := range bad {
		assert.NotEmpty(t, oldForm(line), line)
	}
}
