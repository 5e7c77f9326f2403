#!/usr/bin/env bash
# pack.sh makes the npm tarball the way a clean clone makes it: it copies the files git tracks, and the
# untracked ones it does not ignore, into a temporary folder, runs `npm pack` in its js/ with nothing
# else run before (the package's prepack script builds everything), and leaves the tarball at
# dist/b24pull.tgz (a fixed name, so that the examples' package.json need not repeat the version).
#
#   scripts/pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
	[[ -e $f ]] || continue # deleted in the work tree
	mkdir -p "$tmp/tree/$(dirname "$f")"
	cp -p "$f" "$tmp/tree/$f"
done
mkdir -p "$tmp/out" dist
(cd "$tmp/tree/js" && npm pack --pack-destination "$tmp/out" --loglevel=warn)
tarballs=("$tmp"/out/*.tgz)
if [[ ${#tarballs[@]} -ne 1 ]]; then
	echo "pack: npm pack made ${#tarballs[@]} tarballs" >&2
	exit 1
fi
mv "${tarballs[0]}" dist/b24pull.tgz
echo "pack: dist/b24pull.tgz ($(wc -c <dist/b24pull.tgz | tr -d ' ') bytes) from $(basename "${tarballs[0]}")"
