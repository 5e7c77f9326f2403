#!/usr/bin/env bash
# demo.sh is what `make demo` runs: it builds the browser package, installs the official client the
# page's side-by-side switch runs (scripts/ensure-npm.sh, when npm is there), then serves the demo app
# on an in-process stand-in portal and push server and prints the address to open. Ctrl-C stops it.
#
#   scripts/demo.sh [b24pull-demo flags]      VERSION=3|4|5 picks the push server (default 4)
#   VERSION=5 scripts/demo.sh -addr 127.0.0.1:9090 -lifetime 30s
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-wasm.sh --quick
# Without the official client the demo runs all the same: the page disables the switch and says why.
if ! command -v npm >/dev/null 2>&1; then
	echo "demo: npm is not installed, so the side-by-side switch stays off (install npm, then run scripts/ensure-npm.sh)" >&2
elif ! scripts/ensure-npm.sh; then
	echo "demo: scripts/ensure-npm.sh failed, so the side-by-side switch may stay off" >&2
fi
exec go run ./cmd/b24pull-demo -version "${VERSION:-4}" "$@"
