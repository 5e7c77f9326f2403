//go:build !js

// Package bench measures b24pull against the official client (@bitrix24/b24jssdk's PullClient,
// pinned in e2e/web) and a raw JavaScript client, the limit, in one headless Chromium on the same
// stand-in stream.
//
// Run starts a stand-in (package standin) per mode on loopback, serves the bench page
// (web/bench.html and web/harness.js, embedded), the browser package (js/) and the official client's
// UMD bundle from the stand-in's portal listener, and drives the page through CDP with the Network
// domain off (with it on, Chromium reports every websocket frame to the driver and throughput
// halves). The clients run in turn in the same page, each in its own connection:
//
//   - burst: BurstEvents events of about 300 bytes published as fast as the stand-in sends them, in
//     text (v3), protobuf (v4) and JSON-RPC (v5) mode, coalescing off and 400 ms. The rate is the
//     events over the time from the first publish to the last callback, after checking the count and
//     a checksum; the page's main-thread CPU time per event is read from Chromium's performance
//     metrics (thread time), which does not depend on how fast the stand-in can publish;
//   - steady: SteadyRate events per second for SteadyDuration, publish → callback delay p50, p99,
//     max (the publish time travels in the event; page and driver read the same machine clock, and
//     the offset between them is measured and removed);
//   - cold start: from the insertion of the client's script to online, in a fresh browser context
//     (nothing cached, a renderer of its own), and the bytes it loaded, raw, gzip -9, brotli -q 11;
//   - memory: the JavaScript heap (after a full GC) and the WebAssembly memory after half and after
//     all of MemoryEvents events.
//
// Every workload runs rounds after a warm-up and reports medians; compare ratios within one run, as
// absolute numbers move by 10–15 % between runs on a shared two-core machine. Config.VariantDir
// measures another build of the browser package beside the current one.
package bench
