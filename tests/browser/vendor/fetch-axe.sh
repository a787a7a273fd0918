#!/bin/sh
# Vendor axe-core's axe.min.js (and its licence) from the pinned npm package, so the
# browser tests need no npm and no network. Run from anywhere; commit the result.
set -eu
VERSION=4.10.3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "axe-core@$VERSION" >/dev/null
tar -xzf "axe-core-$VERSION.tgz"
cp package/axe.min.js "$here/axe.min.js"
cp package/LICENSE "$here/axe-core.LICENSE"
sha=$(sha256sum "$here/axe.min.js" | cut -d' ' -f1)
printf 'axe-core %s (npm), MPL-2.0; axe.min.js sha256 %s\n' "$VERSION" "$sha" > "$here/VERSION"
cat "$here/VERSION"
