#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the protocol core for the given time each (default 10m), or for a
# number of executions ("20000x"). Findings land in protocol/testdata/fuzz/<Target>/ and fail the run;
# keep them as seeds once fixed.
#
# The short runs of make test use an execution count: a time limit can end while the fuzzer is still
# minimising a new input, which go test reports as a failure ("context deadline exceeded").
#
#   scripts/fuzz.sh [duration|Nx]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10m}
minimize=2s
if [[ $fuzztime == *x ]]; then
	minimize=1000x
fi
targets=$(go test -list '^Fuzz' ./protocol/ | grep '^Fuzz')
for target in $targets; do
	echo "fuzz $target for $fuzztime"
	go test ./protocol/ -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize"
done
