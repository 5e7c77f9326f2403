#!/usr/bin/env bash
# test-wasm.sh runs the Go tests of bridge/ inside headless Chromium through wasmbrowsertest. It also
# vets the js/wasm packages and runs the native build-tag check. (The loader pages of js/ run with the
# native tests: go test ./js/ after scripts/build-wasm.sh.)
#
#   scripts/test-wasm.sh [extra go test flags for bridge/, e.g. -run TestBX24 -v]
#
# Needs /usr/bin/chromium (apt-get install -y chromium). wasmbrowsertest is installed into bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [[ ! -x bin/wasmbrowsertest ]]; then
	env -u GOOS -u GOARCH GOBIN="$root/bin" go install github.com/agnivade/wasmbrowsertest@v0.11.0
fi
chromium_bin=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $chromium_bin ]]; then
	echo "test-wasm: $chromium_bin not found (apt-get install -y chromium)" >&2
	exit 1
fi

# wasmbrowsertest finds "chromium" on PATH and has no option for extra flags: a wrapper adds them.
wrap=$(mktemp -d)
trap 'rm -rf "$wrap"' EXIT
cat >"$wrap/chromium" <<WRAPPER
#!/bin/sh
exec "$chromium_bin" --disable-gpu --disable-quic --disable-component-update "\$@"
WRAPPER
chmod +x "$wrap/chromium"

go test ./bridge/                                   # native: the build-tag check
GOOS=js GOARCH=wasm go vet ./bridge/ ./wasm/

# wasmbrowsertest copies the whole environment into the page, and wasm_exec.js caps argv plus env at
# about 8 KB: run with a small environment.
env -i \
	PATH="$wrap:$(dirname "$(go env GOROOT)/bin/go"):/usr/local/bin:/usr/bin:/bin" \
	HOME="${HOME:-/root}" \
	GOCACHE="$(go env GOCACHE)" \
	GOMODCACHE="$(go env GOMODCACHE)" \
	GOPROXY="$(go env GOPROXY)" \
	GOFLAGS="$(go env GOFLAGS)" \
	GOOS=js GOARCH=wasm \
	go test -timeout 60s -exec="$root/bin/wasmbrowsertest" "$@" ./bridge/ 2>&1 |
	grep -v 'IPAddressSpace'

