#!/usr/bin/env bash
# demo.sh is what `make demo` runs: it builds the browser package, then serves the demo app on an
# in-process stand-in portal and push server and prints the address to open. Ctrl-C stops it.
#
#   scripts/demo.sh [b24pull-demo flags]      VERSION=3|4|5 picks the push server (default 4)
#   VERSION=5 scripts/demo.sh -addr 127.0.0.1:9090 -lifetime 30s
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-wasm.sh --quick
exec go run ./cmd/b24pull-demo -version "${VERSION:-4}" "$@"
