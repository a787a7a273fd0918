#!/bin/sh
# Vendor the French State design system (DSFR) into gateway/console/static/dsfr/.
#
# Run by a maintainer when the pinned version changes, never at install time: the
# result is committed, so the wheel, the container image and the offline appliance
# ship the assets with no npm. Copies only what the console uses: the minified CSS,
# the icons that CSS references, the Marianne and Spectral fonts, the favicon and the
# licence (Licence Ouverte / Etalab 2.0).
set -eu
VERSION=1.15.3
here=$(cd "$(dirname "$0")" && pwd)
out="$here/dsfr"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@gouvfr/dsfr@$VERSION" >/dev/null && tar xzf "gouvfr-dsfr-$VERSION.tgz")
dist="$work/package/dist"
rm -rf "$out"
mkdir -p "$out"
cp "$dist/dsfr.min.css" "$out/"
cp -r "$dist/fonts" "$dist/favicon" "$out/"
cp "$work/package/LICENSE.md" "$out/LICENSE.md"
# Only the icons dsfr.min.css points at (url(icons/...)).
grep -o 'url(icons/[^)]*)' "$dist/dsfr.min.css" | sed 's/^url(//; s/)$//' | sort -u |
while read -r icon; do
    mkdir -p "$out/$(dirname "$icon")"
    cp "$dist/$icon" "$out/$icon"
done
cat > "$out/README.md" <<END
# Vendored DSFR

- Package: \`@gouvfr/dsfr\` version $VERSION, from the npm registry (\`npm pack\`).
- Licence: Licence Ouverte / Etalab 2.0 (LICENSE.md); Marianne and Spectral fonts are
  the State's fonts, distributed with the design system for its use.
- Kept: dist/dsfr.min.css, the icons it references, fonts/, favicon/, LICENSE.md.
  No JavaScript: the console works without it.
- Regenerate: \`gateway/console/static/fetch-dsfr.sh\` (needs npm; run by a maintainer,
  never at install time). Change VERSION in the script to upgrade.
END
echo "DSFR $VERSION vendored into $out ($(du -sh "$out" | cut -f1))"
