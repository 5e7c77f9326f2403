#!/usr/bin/env bash
# test.sh is what `make test` runs on a fresh machine: it installs what the tests need (Debian's
# chromium, the pinned npm packages, wasmbrowsertest), checks formatting and vet for both GOOS, builds
# the browser package and the npm tarball, runs every native test (the protocol core, the stand-in,
# the client against the stand-in, the headless-Chromium suites driven from Go, and the examples
# installed from the tarball and built with their bundlers), a short run of every fuzz target,
# and the Go tests of the bridge inside Chromium.
#
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
scripts/ensure-chromium.sh
scripts/ensure-npm.sh

step "format and vet (native and js/wasm)"
unformatted=$(gofmt -l $(git ls-files -co --exclude-standard '*.go'))
if [[ -n $unformatted ]]; then
	echo "gofmt wants changes in:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
GOOS=js GOARCH=wasm go vet ./...

step "build the browser package, and the npm tarball from a clean copy of the tree"
scripts/build-wasm.sh
scripts/pack.sh

step "protocol core coverage"
go test -count=1 -timeout 120s -cover ./protocol/ ./session/ | tee /tmp/b24pull-core-cover.txt
awk '/coverage:/ { for (i = 1; i <= NF; i++) if ($i == "coverage:") { v = $(i + 1); sub("%", "", v); if (v + 0 < 90) { print "coverage of " $2 " is under 90%: " v "%"; bad = 1 } } } END { exit bad }' /tmp/b24pull-core-cover.txt

step "native tests (including the headless-Chromium suites and the 3-minute soak)"
go test -count=1 -timeout 1500s ./...

step "fuzz targets, 20000 executions each"
scripts/fuzz.sh 20000x

step "bridge tests inside Chromium"
scripts/test-wasm.sh
