#!/usr/bin/env bash
# build-wasm.sh builds the npm package in js/ from the sources: b24pull.wasm (from ./wasm, stamped with
# the version of js/package.json), the ES module b24pull.mjs and the classic script b24pull.js (both
# from js/src/b24pull.mjs by cmd/jsbuild, with the wasm_exec.js of the Go toolchain that built the wasm
# inlined: the two must match), and LICENSE (copied from the repository's). None of these is committed.
# npm pack and npm publish run it by themselves (the package's prepack script).
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
version=$(sed -n 's/^  "version": "\([^"]*\)",$/\1/p' js/package.json)
if [[ -z $version ]]; then
	echo "build-wasm: no version found in js/package.json" >&2
	exit 1
fi

GOOS=js GOARCH=wasm go build -trimpath \
	-ldflags="-s -w -X github.com/b24pull/b24pull/bridge.Version=$version" \
	-o js/b24pull.wasm ./wasm
env -u GOOS -u GOARCH go run ./cmd/jsbuild -runtime "$wasm_exec"
cp LICENSE js/LICENSE
if command -v node >/dev/null; then
	node --check js/b24pull.js
	node --check js/b24pull.mjs
fi

size() { wc -c <"$1" | tr -d ' '; }
echo "b24pull $version"
for f in js/b24pull.wasm js/b24pull.mjs; do
	line="$f: $(size "$f") bytes raw"
	if ! $quick && command -v gzip >/dev/null; then
		line="$line, $(gzip -9 -c "$f" | wc -c | tr -d ' ') gzip -9"
	fi
	if ! $quick && command -v brotli >/dev/null; then
		line="$line, $(brotli -q 11 -c "$f" | wc -c | tr -d ' ') brotli -q 11"
	fi
	echo "$line"
done
