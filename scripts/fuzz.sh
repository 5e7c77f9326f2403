#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the protocol core for the given time each (default 10m). Findings
# land in protocol/testdata/fuzz/<Target>/ and fail the run; keep them as seeds once fixed.
#
#   scripts/fuzz.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10m}
targets=$(go test -list '^Fuzz' ./protocol/ | grep '^Fuzz')
for target in $targets; do
	echo "fuzz $target for $fuzztime"
	go test ./protocol/ -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s
done
