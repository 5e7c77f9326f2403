#!/usr/bin/env bash
# bench.sh runs the side-by-side benchmarks of package bench: b24pull, the official client
# (@bitrix24/b24jssdk's PullClient) and a raw JavaScript client in one headless Chromium, on the
# same stand-in stream, and prints the tables (docs/benchmarks.md explains them). It installs what it
# needs when missing (Debian's chromium and brotli, the pinned npm packages) and builds the browser
# package first.
#
#   scripts/bench.sh quick     about 2 minutes: every workload, small (make bench-quick)
#   scripts/bench.sh full      at most 15 minutes: the recorded run (make bench)
#
# Extra arguments go to the b24pull-bench command, e.g. `scripts/bench.sh quick -versions 4 -only
# burst`, `-profile /tmp/prof` (Chrome CPU profiles) or `-variant dir` (another build of js/, measured
# beside the current one). The JSON report is written to $BENCH_JSON (default
# /tmp/b24pull-bench-<preset>.json).
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:-}
case $preset in
quick | full) shift ;;
*)
	echo "usage: scripts/bench.sh quick|full [b24pull-bench flags]" >&2
	exit 2
	;;
esac

scripts/ensure-chromium.sh
scripts/ensure-npm.sh
if ! command -v brotli >/dev/null; then
	if [[ $(id -u) -eq 0 ]]; then
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends brotli >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends brotli >/dev/null; }; } ||
			echo "bench: brotli could not be installed: its column will read 0" >&2
	else
		echo "bench: brotli is missing (apt-get install brotli): its column will read 0" >&2
	fi
fi
scripts/build-wasm.sh --quick

echo "== machine: $(nproc) CPUs, $(free -h | awk '/^Mem:/ { print $2 }') memory; $(uptime)"
json=${BENCH_JSON:-/tmp/b24pull-bench-$preset.json}
go run ./cmd/b24pull-bench -preset "$preset" -json "$json" "$@"
echo "JSON report: $json"
