#!/usr/bin/env bash
# Refresh the vendored OpenLayers build used by the viewer.
#
# The viewer needs no Node build: it loads OpenLayers' prebuilt single-file
# distribution (dist/ol.js, which defines the global `ol`) and its ol.css,
# taken unchanged from the `ol` package on the npm registry. The version is
# pinned here; 10.9.0 is the newest whose dist/ol.js stays under the
# project's 1 MB limit for committed files (10.10 and later are larger).
#
# Usage: bash frontend/vendor.sh [VERSION]     (needs npm and tar)
set -euo pipefail

version="${1:-10.9.0}"
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/static/frontend/vendor/ol"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "ol@$version" >/dev/null)
tar -xzf "$work/ol-$version.tgz" -C "$work" package/dist/ol.js package/ol.css package/LICENSE.md

mkdir -p "$dest"
# The source map is not vendored, so drop the comment that would make
# browser developer tools ask for it.
sed '/^\/\/# sourceMappingURL=/d' "$work/package/dist/ol.js" >"$dest/ol.js"
cp "$work/package/ol.css" "$dest/ol.css"
cp "$work/package/LICENSE.md" "$dest/LICENSE.md"
echo "$version" >"$dest/VERSION"

size=$(stat -c %s "$dest/ol.js")
if [ "$size" -gt 1048576 ]; then
    echo "warning: ol.js is $size bytes, over the 1 MB limit for committed files" >&2
fi
echo "OpenLayers $version vendored into $dest ($size bytes)"
