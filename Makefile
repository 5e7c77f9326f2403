# b24pull — every target is a thin call to a script under scripts/.
.PHONY: all build pack test demo standin fuzz soak bench bench-quick clean

all: build

# The npm package in js/: b24pull.wasm, the module b24pull.mjs and the classic script b24pull.js.
build:
	scripts/build-wasm.sh

# The npm tarball dist/b24pull.tgz, made as a clean clone makes it (npm pack runs the build).
pack:
	scripts/pack.sh

# Everything: installs Chromium and the pinned npm packages when missing, then vet, unit, stand-in,
# client, browser and end-to-end tests, short fuzzing and the bridge tests inside Chromium.
test:
	scripts/test.sh

# The demo app on the embedded stand-in (VERSION=3|4|5, default 4).
demo:
	scripts/demo.sh

# The stand-in portal and push server alone (ARGS="-version 5 -lifetime 60s").
standin:
	go run ./cmd/b24pull-standin $(ARGS)

# Every fuzz target for 10 minutes (FUZZTIME=30s for less).
fuzz:
	scripts/fuzz.sh $(or $(FUZZTIME),10m)

# A long soak in headless Chromium with random faults: every event must arrive exactly once
# (DURATION=30m VERSIONS="3 4 5").
soak:
	scripts/soak.sh $(or $(DURATION),10m) "$(or $(VERSIONS),4)"

# b24pull vs the official client vs raw JavaScript in headless Chromium (under 15 minutes); the table
# is printed at the end (docs/benchmarks.md holds a recorded run).
bench:
	scripts/bench.sh full

# The same workloads, small (about 2 minutes), for repeated use.
bench-quick:
	scripts/bench.sh quick

clean:
	rm -rf bin dist js/b24pull.wasm js/b24pull.mjs js/b24pull.js js/LICENSE
