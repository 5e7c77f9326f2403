#!/usr/bin/env bash
# build-wasm.sh builds the browser package in js/: b24pull.wasm (from ./wasm), wasm_exec.js (copied
# from the Go toolchain that built the wasm: the two must match) and b24pull.js (the classic script,
# generated from b24pull.mjs). None of the three is committed.
#
#   scripts/build-wasm.sh [--quick]     --quick skips the compressed sizes
set -euo pipefail
quick=false
if [[ ${1:-} == --quick ]]; then
	quick=true
fi
cd "$(dirname "$0")/.."

goroot=$(go env GOROOT)
wasm_exec="$goroot/lib/wasm/wasm_exec.js"
if [[ ! -f $wasm_exec ]]; then
	echo "build-wasm: $wasm_exec not found (Go 1.24+ keeps it in lib/wasm)" >&2
	exit 1
fi

GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o js/b24pull.wasm ./wasm
cp "$wasm_exec" js/wasm_exec.js
env -u GOOS -u GOARCH go run ./cmd/jsbuild -in js/b24pull.mjs -out js/b24pull.js
if command -v node >/dev/null; then
	node --check js/b24pull.js
	node --check js/b24pull.mjs
fi

size() { wc -c <"$1" | tr -d ' '; }
echo "js/b24pull.wasm: $(size js/b24pull.wasm) bytes raw"
if $quick; then
	exit 0
fi
if command -v gzip >/dev/null; then
	echo "js/b24pull.wasm: $(gzip -9 -c js/b24pull.wasm | wc -c | tr -d ' ') bytes gzip -9"
fi
if command -v brotli >/dev/null; then
	echo "js/b24pull.wasm: $(brotli -q 11 -c js/b24pull.wasm | wc -c | tr -d ' ') bytes brotli -q 11"
fi
