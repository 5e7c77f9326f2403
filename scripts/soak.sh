#!/usr/bin/env bash
# soak.sh keeps one b24pull client online in headless Chromium against the stand-in (two-second
# channels, 50 events/s, a seeded random fault every 2-6 s) for the given time, then checks that every
# event arrived once and in order and that no secret leaked (e2e/soak_test.go). Strict: any loss not
# explained by a channel the client had to leave fails the run.
#
#   scripts/soak.sh [duration] [versions]     default 10m and "4"; e.g. scripts/soak.sh 30m "3 4 5"
#   B24PULL_SOAK_SEED=<n> scripts/soak.sh     repeats a fault schedule (the seed is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10m}
versions=${2:-4}
scripts/ensure-chromium.sh
scripts/build-wasm.sh --quick
# No go test timeout: the soak, its drain and every wait in it are bounded by themselves.
B24PULL_SOAK=$duration B24PULL_SOAK_VERSIONS=$versions \
	go test -count=1 -timeout 0 -run '^TestSoak$' -v ./e2e/ | grep -Ev '^ *([0-9]+ )?debug: '
