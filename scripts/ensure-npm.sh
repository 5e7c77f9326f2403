#!/usr/bin/env bash
# ensure-npm.sh installs the browser-side test dependencies pinned in e2e/web/package-lock.json (the
# official @bitrix24/b24jssdk client the tests and benchmarks compare with), when they are missing or
# older than the lockfile.
set -euo pipefail
cd "$(dirname "$0")/../e2e/web"
stamp=node_modules/.package-lock.json
if [[ -f $stamp && $stamp -nt package-lock.json ]]; then
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
