//go:build !js

// Package e2e holds the end-to-end tests that drive headless Chromium against
// the local stand-in of a Bitrix24 portal and Push & Pull server (package
// standin), for server versions 3, 4 and 5.
//
// The tests need two things installed outside Go, and fail (never skip) with
// a message naming the fix when either is missing:
//
//   - Chromium at /usr/bin/chromium (or $CHROMIUM): scripts/ensure-chromium.sh;
//   - the browser-side packages in e2e/web/node_modules, among them the official
//     client @bitrix24/b24jssdk: npm ci --prefix e2e/web.
//
// The Makefile's test target runs both. Test pages live in e2e/web/pages and
// are served, together with node_modules, by internal/webdeps from the
// stand-in's own origin, so REST calls need no CORS.
//
// Set B24PULL_E2E_CONSOLE=1 to log each page's console (secrets redacted)
// even when a test passes; a failing test logs it anyway.
//
// conformance_test.go runs the official client (b24jssdk's PullClient, as a REST
// application) against the stand-in: where the official client and
// docs/protocol.md disagree, the spec wins and the test says why.
//
// differential_test.go runs the official client and b24pull side by side in one
// page on one stream, records every callback call of each, and holds the two
// logs equal except for the differences docs/migrating.md lists (a ```differences
// block the test reads). Set B24PULL_DIFF_DUMP to a directory to keep the
// normalised logs of each version there.
package e2e
