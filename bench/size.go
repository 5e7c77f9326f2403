//go:build !js

package bench

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os/exec"
	"path"
	"slices"
)

// sizeOf sums what a client loaded (the URL paths its cold start fetched, REST calls excluded) raw,
// after gzip -9 and after brotli -q 11 (0 when the brotli command is missing).
func (r *runner) sizeOf(kind string, paths []string) (SizeResult, error) {
	out := SizeResult{Client: kind}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	for _, p := range paths {
		data, ok := r.h.fileFor(p, r.webDir)
		if !ok {
			continue
		}
		f := FileSize{Path: path.Base(p), Raw: int64(len(data))}
		gz, err := gzipSize(data)
		if err != nil {
			return out, err
		}
		f.Gzip = gz
		f.Brotli = brotliSize(data)
		out.Files = append(out.Files, f)
		out.Raw += f.Raw
		out.Gzip += f.Gzip
		out.Brotli += f.Brotli
	}
	return out, nil
}

func gzipSize(data []byte) (int64, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, fmt.Errorf("failed to start gzip: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return 0, fmt.Errorf("failed to gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("failed to gzip: %w", err)
	}
	return int64(buf.Len()), nil
}

// brotliSize runs `brotli -q 11`; 0 when the command is missing or fails.
func brotliSize(data []byte) int64 {
	cmd := exec.Command("brotli", "-q", "11", "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		return 0
	}
	return int64(len(out))
}
