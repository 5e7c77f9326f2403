#!/bin/sh
# ensure-chromium.sh installs Debian's chromium when /usr/bin/chromium is
# missing, and does nothing when it is there. The browser tests (e2e/,
# internal/browser, bench/, demo/) need it; `make test` runs this first.
# Installing needs root (apt-get); --no-install-recommends is enough to render
# pages headless.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "ensure-chromium: $CHROMIUM is missing and installing it needs root: run this script as root" >&2
	exit 1
fi

echo "ensure-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
	echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
	exit 1
fi
"$CHROMIUM" --version 2>/dev/null || true
